-- Argo CD health of a Placement (cluster.open-cluster-management.io/v1beta1).
-- Lua 5.1 for gopher-lua; base and table libraries only (Argo CD's default sandbox).
--
-- Conditions are set by OCM's scheduler (open-cluster-management-io/ocm
-- pkg/placement/controllers/scheduling/scheduling_controller.go newSatisfiedCondition,
-- newMisconfiguredCondition): PlacementMisconfigured True when a plugin rejects the
-- configuration; PlacementSatisfied False with NoManagedClusterSetBindings, NoIntersection,
-- AllManagedClusterSetsEmpty, NoManagedClusterMatched or NotAllDecisionsScheduled.
-- status.numberOfSelectedClusters counts the decisions.
--
-- What the selection must reach is not in a PlacementSpec. fedfleet renders it on the Placements
-- it ships for a job's clients (fedfleet-clients-<job>, the job's own client placement) as the
-- annotation fedfleet.io/min-selected-clusters (the job's spec.server.minAvailableClients) and
-- fedfleet.io/job. Fewer selected clusters than that is Progressing: the FL controller keeps the
-- job Waiting until the count is reached (federatedlearning_client.go). The Placement the FL
-- controller creates for the job itself (named like the job, owned by it) carries no annotation:
-- Argo CD shows it as a child of the FederatedLearning, Healthy with its count, and the job's own
-- Waiting message carries the comparison. Argo CD has no built-in check for this kind.
local hs = {}
local satisfied = nil
local misconfigured = nil
if obj.status ~= nil and obj.status.conditions ~= nil then
  for _, c in ipairs(obj.status.conditions) do
    if c.type == "PlacementSatisfied" then
      satisfied = c
    elseif c.type == "PlacementMisconfigured" then
      misconfigured = c
    end
  end
end

if misconfigured ~= nil and misconfigured.status == "True" then
  hs.status = "Degraded"
  hs.message = "Misconfigured: " .. (misconfigured.message or "")
  return hs
end
if satisfied == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the placement to be scheduled"
  return hs
end

local selected = 0
if obj.status.numberOfSelectedClusters ~= nil then
  selected = obj.status.numberOfSelectedClusters
end
local summary = selected .. " cluster(s) selected"
if satisfied.status ~= "True" and satisfied.message ~= nil then
  summary = summary .. " (" .. satisfied.message .. ")"
end

local needed = nil
local job = nil
if obj.metadata ~= nil and obj.metadata.annotations ~= nil then
  needed = tonumber(obj.metadata.annotations["fedfleet.io/min-selected-clusters"])
  job = obj.metadata.annotations["fedfleet.io/job"]
end
if needed == nil then
  hs.status = "Healthy"
  hs.message = summary
  return hs
end
local who = "the job"
if job ~= nil then
  who = "job " .. job
end
if selected < needed then
  hs.status = "Progressing"
  hs.message = summary .. "; " .. who .. " needs " .. needed .. " (minAvailableClients) and stays Waiting"
else
  hs.status = "Healthy"
  hs.message = summary .. "; " .. who .. " needs " .. needed
end
return hs
