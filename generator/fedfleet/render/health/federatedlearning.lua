-- Argo CD health of a FederatedLearning (federation-ai.open-cluster-management.io/v1alpha1).
-- Written for Lua 5.1 (Argo CD runs gopher-lua) with only the libraries Argo CD's sandbox opens
-- by default (base, table, package, a safe os; util/lua/lua.go runLuaWithResourceActionParameters):
-- no string or math library, so messages are concatenated, never parsed.
--
-- Phases and messages are the FL controller's (open-cluster-management-io/addon-contrib
-- f5844b98, federated-learning-controller/api/v1alpha1/federatedlearning_types.go: status.phase
-- Waiting|Running|Completed|Failed|Start, status.message; no conditions;
-- internal/controller/federatedlearning_controller.go Reconcile):
--   ""        -> the controller sets Waiting, "Awaiting server and client readiness"
--   Waiting   -> "Expected %d clusters, but only %d meet the criteria" while the job's Placement
--                selects fewer than spec.server.minAvailableClients (federatedlearning_client.go)
--   Running   -> "Assigned %d clusters for client execution in model training" (OpenFL also
--                "applied %d manifestworks to the clusters"); the message carries the count
--   Completed -> "Model training successful. Check storage for details" (non-Flower only: the
--                server Job succeeded); a Flower job stays Running until it is deleted
--   Failed    -> terminal; message is the reconcile error
--   Start     -> declared "manual trigger" in the API, never set by the reconciler
--
-- Running is Progressing for a batch framework (OpenFL: training ends in Completed), but Healthy
-- for Flower: its Running is the steady state of a long-lived federation (the run is the bundle's
-- Job flwr-run-<job>, whose completion `fedfleet audit` reads), and a resource that is Progressing forever holds an Argo CD sync operation in
-- Running for ever (gitops-engine/pkg/sync/sync_context.go waits for every task of a multi-wave
-- sync to turn Healthy or Degraded), so no later commit would reach the hub.
--
-- Validation verdict (fedfleet's own, optional): annotation fedfleet.io/validation-result
-- "passed" or "failed" with fedfleet.io/validation-message, written by whatever validates the
-- final model; a Completed job whose validation failed is Degraded.
local hs = {}
local status = obj.status
local annotations = {}
if obj.metadata ~= nil and obj.metadata.annotations ~= nil then
  annotations = obj.metadata.annotations
end

local function say(prefix, message)
  if message ~= nil and message ~= "" then
    return prefix .. ": " .. message
  end
  return prefix
end

if status == nil or status.phase == nil or status.phase == "" then
  hs.status = "Progressing"
  hs.message = "Waiting for the FL controller to report a phase"
  return hs
end

local phase = status.phase
if phase == "Failed" then
  hs.status = "Degraded"
  hs.message = say("Failed", status.message)
elseif phase == "Waiting" or phase == "Start" then
  hs.status = "Progressing"
  hs.message = say(phase, status.message)
elseif phase == "Running" then
  if obj.spec ~= nil and obj.spec.framework == "flower" then
    hs.status = "Healthy"
    hs.message = say("Running (Flower federation up; the run is Job flwr-run-<job>)", status.message)
  else
    hs.status = "Progressing"
    hs.message = say("Running", status.message)
  end
elseif phase == "Completed" then
  local verdict = annotations["fedfleet.io/validation-result"]
  local detail = annotations["fedfleet.io/validation-message"]
  if verdict == "failed" then
    hs.status = "Degraded"
    hs.message = say("Completed, validation failed", detail)
  elseif verdict == "passed" then
    hs.status = "Healthy"
    hs.message = say("Completed, validation passed", detail)
  else
    hs.status = "Healthy"
    hs.message = say("Completed", status.message)
  end
else
  hs.status = "Unknown"
  hs.message = "Unknown phase " .. phase
end
return hs
