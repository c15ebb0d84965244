-- Argo CD health of an ACM Policy (policy.open-cluster-management.io/v1).
-- Lua 5.1 for gopher-lua; base and table libraries only (Argo CD's default sandbox).
--
-- Replaces Argo CD's built-in check (argoproj/argo-cd 37ee0097,
-- resource_customizations/policy.open-cluster-management.io/Policy/health.lua), which turns any
-- NonCompliant policy Degraded. For an inform policy a violation is the policy working: it
-- reports and changes nothing, yet the built-in turns the whole Application Degraded and hides
-- real sync failures behind expected audit findings (argoproj/argo-cd#23331). Deliberate rule:
--   enforce + NonCompliant -> Degraded  (the policy engine failed to remediate)
--   inform  + NonCompliant -> Healthy, the violation as the message (fedfleet audit reports it)
--   Pending -> Progressing; Compliant -> Healthy; disabled -> Healthy
-- The effective remediation is spec.remediationAction (it overrides the templates' when set,
-- CRD policy.open-cluster-management.io_policies.yaml), else enforce if any template enforces.
-- Status fields are the propagator's (governance-policy-propagator 19b1b7ba, root policy:
-- status.compliant, status.status[] {clustername, compliant}, status.placement[]; replicated
-- policy: status.details[] {compliant, templateMeta.name}).
local hs = {}
if obj.spec ~= nil and obj.spec.disabled then
  hs.status = "Healthy"
  hs.message = "Policy is disabled"
  return hs
end

local function enforces(action)
  return action == "enforce" or action == "Enforce"
end
local enforce = false
if obj.spec ~= nil and obj.spec.remediationAction ~= nil and obj.spec.remediationAction ~= "" then
  enforce = enforces(obj.spec.remediationAction)
elseif obj.spec ~= nil and obj.spec["policy-templates"] ~= nil then
  for _, t in ipairs(obj.spec["policy-templates"]) do
    if t.objectDefinition ~= nil and t.objectDefinition.spec ~= nil and enforces(t.objectDefinition.spec.remediationAction) then
      enforce = true
    end
  end
end

local status = obj.status
if status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the status to be reported"
  return hs
end
if status.compliant == nil and status.status == nil and status.placement ~= nil and #status.placement > 0 then
  hs.status = "Healthy"
  hs.message = "No clusters match this policy"
  return hs
end
if status.compliant == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the status to be reported"
  return hs
end

local function names(list)
  if #list == 0 then
    return "(no cluster listed)"
  end
  return table.concat(list, ", ")
end
local bad = {}
local pending = {}
if status.status ~= nil then
  for _, entry in ipairs(status.status) do
    if entry.compliant == "NonCompliant" then
      table.insert(bad, entry.clustername)
    elseif entry.compliant ~= "Compliant" then
      table.insert(pending, entry.clustername)
    end
  end
elseif status.details ~= nil then
  for _, entry in ipairs(status.details) do
    local name = "?"
    if entry.templateMeta ~= nil and entry.templateMeta.name ~= nil then
      name = entry.templateMeta.name
    end
    if entry.compliant == "NonCompliant" then
      table.insert(bad, name)
    elseif entry.compliant ~= "Compliant" then
      table.insert(pending, name)
    end
  end
end

if status.compliant == "Compliant" then
  hs.status = "Healthy"
  hs.message = "Compliant"
elseif status.compliant == "NonCompliant" then
  if enforce then
    hs.status = "Degraded"
    hs.message = "enforce: not remediated, NonCompliant on " .. names(bad)
  else
    hs.status = "Healthy"
    hs.message = "inform: violation reported (not enforced), NonCompliant on " .. names(bad)
  end
else
  hs.status = "Progressing"
  hs.message = "Pending on " .. names(pending)
end
return hs
