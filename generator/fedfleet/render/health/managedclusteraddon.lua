-- Argo CD health of a ManagedClusterAddOn (addon.open-cluster-management.io/v1alpha1).
-- Lua 5.1 for gopher-lua; base and table libraries only (Argo CD's default sandbox).
--
-- Conditions are OCM's (open-cluster-management-io/api 1845fd80,
-- addon/v1alpha1/types_managedclusteraddon.go): Available says the agent runs on the managed
-- cluster (reasons WorkApplied, ProbeAvailable, ManagedClusterAddOnLeaseUpdated, ...; False with
-- WorkApplyFailed, ProbeUnavailable, ...; Unknown when the lease stops updating, e.g. the
-- cluster is offline); Progressing reports configuration rollout, reason Failed or
-- ConfigurationUnsupported when the configuration cannot be applied
-- (open-cluster-management-io/ocm pkg/addon/controllers/addonprogressing/controller.go).
-- Argo CD has no built-in check for this kind.
local hs = {}
local available = nil
local progressing = nil
if obj.status ~= nil and obj.status.conditions ~= nil then
  for _, c in ipairs(obj.status.conditions) do
    if c.type == "Available" then
      available = c
    elseif c.type == "Progressing" then
      progressing = c
    end
  end
end

local function say(prefix, c)
  if c.message ~= nil and c.message ~= "" then
    return prefix .. " (" .. (c.reason or "") .. "): " .. c.message
  end
  return prefix .. " (" .. (c.reason or "") .. ")"
end

if progressing ~= nil and (progressing.reason == "Failed" or progressing.reason == "ConfigurationUnsupported") then
  hs.status = "Degraded"
  hs.message = say("Configuration not applied", progressing)
  return hs
end
if available == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the add-on agent to report Available"
  return hs
end
if available.status == "True" then
  hs.status = "Healthy"
  hs.message = say("Available", available)
elseif available.status == "False" then
  hs.status = "Degraded"
  hs.message = say("Not available", available)
else
  hs.status = "Unknown"
  hs.message = say("Availability unknown", available)
end
return hs
