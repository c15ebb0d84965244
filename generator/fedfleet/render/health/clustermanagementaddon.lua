-- Argo CD health of a ClusterManagementAddOn (addon.open-cluster-management.io/v1alpha1).
-- Lua 5.1 for gopher-lua; base and table libraries only (Argo CD's default sandbox).
--
-- A ClusterManagementAddOn has no Available condition (open-cluster-management-io/api 1845fd80,
-- addon/v1alpha1/types_clustermanagementaddon.go): its status lists installProgressions, one per
-- install placement, each with a Progressing condition that the addon-manager sets
-- (open-cluster-management-io/ocm pkg/addon/controllers/addonconfiguration/
-- cma_progressing_reconciler.go setAddOnInstallProgressionsAndLastApplied): True/Progressing
-- "selected clusters %d. configured addons %d/%d progressing..., %d failed %d timeout." until
-- every selected cluster's add-on is configured, then False/Completed.
--
-- Deliberate rule: the install is Progressing only until the addon-manager has reported on every
-- install placement; after that the add-on is Healthy with the rollout message. Whether the agent
-- runs on a given cluster is that cluster's ManagedClusterAddOn (owned by this object, shown
-- under it in Argo CD's tree). One offline cluster keeps the rollout at "progressing" for ever,
-- and a Progressing object would hold every later sync wave of the hub's Application.
local hs = {}
local strategy = "Manual"
if obj.spec ~= nil and obj.spec.installStrategy ~= nil and obj.spec.installStrategy.type ~= nil then
  strategy = obj.spec.installStrategy.type
end
local placements = {}
if strategy == "Placements" and obj.spec.installStrategy.placements ~= nil then
  placements = obj.spec.installStrategy.placements
end
local progressions = {}
if obj.status ~= nil and obj.status.installProgressions ~= nil then
  progressions = obj.status.installProgressions
end

if #placements == 0 then
  hs.status = "Healthy"
  hs.message = "Install strategy " .. strategy .. ": add-ons are created per cluster"
  return hs
end

local lines = {}
local waiting = {}
for _, p in ipairs(placements) do
  local found = nil
  for _, ip in ipairs(progressions) do
    if ip.name == p.name and ip.namespace == p.namespace then
      for _, c in ipairs(ip.conditions or {}) do
        if c.type == "Progressing" then
          found = c
        end
      end
    end
  end
  if found == nil then
    table.insert(waiting, p.namespace .. "/" .. p.name)
  else
    table.insert(lines, p.namespace .. "/" .. p.name .. ": " .. (found.message or found.reason or ""))
  end
end

if #waiting > 0 then
  hs.status = "Progressing"
  hs.message = "Waiting for the addon-manager to report install placement(s) " .. table.concat(waiting, ", ")
  return hs
end
hs.status = "Healthy"
hs.message = table.concat(lines, "; ")
return hs
