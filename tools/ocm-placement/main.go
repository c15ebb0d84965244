// Command ocm-placement runs OCM's own placement scheduler on a fleet file, without a
// kube-apiserver, and prints every placement's decisions and scores as JSON.
//
// It is the test oracle for `fedfleet plan`: the filters, prioritizers, decision code and
// scheduling controller are imported from open-cluster-management.io/ocm (the version pinned in
// tools/go.mod), not re-implemented. Only the API server is replaced: objects are loaded into the
// generated fake clientset of open-cluster-management.io/api and served through its informers.
//
// Usage: ocm-placement FLEET.json  (or - for stdin)
//
// FLEET.json: {"now": RFC 3339, "clusters": [ManagedCluster], "clusterSets": [ManagedClusterSet],
// "bindings": [ManagedClusterSetBinding], "placements": [Placement]}, objects in their API shape.
//
// Every placement is scheduled on a fresh hub of its own (no PlacementDecision of any other
// placement exists), the assumption `fedfleet plan` states for its preview: on a hub where other
// placements have decided already, the Balance prioritizer would score differently.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	kevents "k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"

	clusterfake "open-cluster-management.io/api/client/cluster/clientset/versioned/fake"
	clusterinformers "open-cluster-management.io/api/client/cluster/informers/externalversions"
	clusterlisterv1 "open-cluster-management.io/api/client/cluster/listers/cluster/v1"
	clusterlisterv1beta2 "open-cluster-management.io/api/client/cluster/listers/cluster/v1beta2"
	clusterapiv1 "open-cluster-management.io/api/cluster/v1"
	clusterapiv1beta1 "open-cluster-management.io/api/cluster/v1beta1"
	clusterapiv1beta2 "open-cluster-management.io/api/cluster/v1beta2"
	"open-cluster-management.io/ocm/pkg/placement/controllers/framework"
	"open-cluster-management.io/ocm/pkg/placement/controllers/metrics"
	"open-cluster-management.io/ocm/pkg/placement/controllers/scheduling"
	"open-cluster-management.io/ocm/pkg/placement/plugins/tainttoleration"
	clustersdkv1beta2 "open-cluster-management.io/sdk-go/pkg/apis/cluster/v1beta2"
	"open-cluster-management.io/sdk-go/pkg/basecontroller/factory"
)

type fleetFile struct {
	Now         time.Time                                    `json:"now"`
	Clusters    []clusterapiv1.ManagedCluster                `json:"clusters"`
	ClusterSets []clusterapiv1beta2.ManagedClusterSet        `json:"clusterSets"`
	Bindings    []clusterapiv1beta2.ManagedClusterSetBinding `json:"bindings"`
	Placements  []json.RawMessage                            `json:"placements"`
}

type prioritizer struct {
	Name   string           `json:"name"`
	Weight int32            `json:"weight"`
	Scores map[string]int64 `json:"scores"`
}

type filter struct {
	Name     string   `json:"name"`
	Clusters []string `json:"clusters"`
}

type result struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// EligibleClusterSets and Candidates: what the scheduling controller hands the scheduler.
	EligibleClusterSets []string      `json:"eligibleClusterSets"`
	Candidates          []string      `json:"candidates"`
	Filters             []filter      `json:"filters"`
	Prioritizers        []prioritizer `json:"prioritizers"`
	// Scores: total per feasible cluster (sum of score x weight), as the scheduler sums them.
	Scores map[string]int64 `json:"scores"`
	// Decisions: the scheduler's selection, in its order (score descending, then name).
	Decisions []string `json:"decisions"`
	// ControllerDecisions: the clusters in the PlacementDecisions the real scheduling controller
	// wrote for this placement; must be the same set as Decisions.
	ControllerDecisions []string `json:"controllerDecisions"`
	NumberOfSelected    int32    `json:"numberOfSelectedClusters"`
	Status              string   `json:"status"`
	Message             string   `json:"message,omitempty"`
	Conditions          []string `json:"conditions"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: ocm-placement FLEET.json|-")
		os.Exit(2)
	}
	var in io.Reader = os.Stdin
	if os.Args[1] != "-" {
		f, err := os.Open(os.Args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		defer f.Close()
		in = f
	}
	var fleet fleetFile
	dec := json.NewDecoder(in)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fleet); err != nil {
		fmt.Fprintln(os.Stderr, "bad fleet file:", err)
		os.Exit(2)
	}
	if fleet.Now.IsZero() {
		fleet.Now = time.Now()
	}
	// tolerationSeconds are measured against this clock (plugins/tainttoleration).
	tainttoleration.TolerationClock = clocktesting.NewFakeClock(fleet.Now)

	out := struct {
		Placements []result `json:"placements"`
	}{Placements: []result{}}
	for _, raw := range fleet.Placements {
		placement, err := decodePlacement(raw)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bad placement:", err)
			os.Exit(2)
		}
		r, err := schedule(&fleet, placement)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		out.Placements = append(out.Placements, r)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// decodePlacement applies the defaults the Placement CRD declares, as the API server would on
// create (open-cluster-management.io/api cluster/v1beta1/types_placement.go, the
// +kubebuilder:default markers: prioritizerPolicy.mode Additive, configurations[].weight 1,
// scoreCoordinate.type BuiltIn, tolerations[].operator Equal), then decodes it strictly.
func decodePlacement(raw json.RawMessage) (*clusterapiv1beta1.Placement, error) {
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, err
	}
	spec, _ := obj["spec"].(map[string]any)
	if policy, ok := spec["prioritizerPolicy"].(map[string]any); ok {
		setDefault(policy, "mode", "Additive")
		configs, _ := policy["configurations"].([]any)
		for _, c := range configs {
			if config, ok := c.(map[string]any); ok {
				setDefault(config, "weight", 1)
				if coordinate, ok := config["scoreCoordinate"].(map[string]any); ok {
					setDefault(coordinate, "type", "BuiltIn")
				}
			}
		}
	}
	tolerations, _ := spec["tolerations"].([]any)
	for _, t := range tolerations {
		if toleration, ok := t.(map[string]any); ok {
			setDefault(toleration, "operator", "Equal")
		}
	}
	defaulted, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var placement clusterapiv1beta1.Placement
	dec := json.NewDecoder(bytes.NewReader(defaulted))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&placement); err != nil {
		return nil, err
	}
	return &placement, nil
}

func setDefault(obj map[string]any, key string, value any) {
	if _, ok := obj[key]; !ok {
		obj[key] = value
	}
}

// codeName spells framework.Code (controllers/framework/interface.go: Success, Warning, Error,
// Misconfigured, in that iota order).
func codeName(c framework.Code) string {
	switch c {
	case framework.Success:
		return "Success"
	case framework.Warning:
		return "Warning"
	case framework.Error:
		return "Error"
	case framework.Misconfigured:
		return "Misconfigured"
	}
	return fmt.Sprintf("Code(%d)", int(c))
}

// schedule runs one placement on a fresh fake hub holding the fleet's clusters, sets and bindings.
func schedule(fleet *fleetFile, placement *clusterapiv1beta1.Placement) (result, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	objects := []runtime.Object{placement.DeepCopy()}
	for i := range fleet.Clusters {
		objects = append(objects, fleet.Clusters[i].DeepCopy())
	}
	for i := range fleet.ClusterSets {
		objects = append(objects, fleet.ClusterSets[i].DeepCopy())
	}
	for i := range fleet.Bindings {
		objects = append(objects, fleet.Bindings[i].DeepCopy())
	}
	client := clusterfake.NewSimpleClientset(objects...)
	informers := clusterinformers.NewSharedInformerFactory(client, 0)
	clusterInformer := informers.Cluster().V1().ManagedClusters()
	setInformer := informers.Cluster().V1beta2().ManagedClusterSets()
	bindingInformer := informers.Cluster().V1beta2().ManagedClusterSetBindings()
	placementInformer := informers.Cluster().V1beta1().Placements()
	decisionInformer := informers.Cluster().V1beta1().PlacementDecisions()
	scoreInformer := informers.Cluster().V1alpha1().AddOnPlacementScores()

	recorder := &kevents.FakeRecorder{} // nil channel: events are dropped
	metricsRecorder := metrics.NewScheduleMetrics(clocktesting.NewFakeClock(fleet.Now))
	handle := scheduling.NewSchedulerHandler(client, decisionInformer.Lister(), scoreInformer.Lister(),
		clusterInformer.Lister(), recorder, metricsRecorder)
	scheduler := scheduling.NewPluginScheduler(handle)
	controller := scheduling.NewSchedulingController(ctx, client, clusterInformer, setInformer, bindingInformer,
		placementInformer, decisionInformer, scoreInformer, scheduler, recorder, metricsRecorder)

	informers.Start(ctx.Done())
	informers.WaitForCacheSync(ctx.Done())

	r := result{Namespace: placement.Namespace, Name: placement.Name}

	// The scheduler's own view (filters, prioritizers, scores), on the candidates the controller
	// computes (scheduling_controller.go syncPlacement: valid bindings -> eligible sets -> clusters).
	candidates, eligible, err := candidatesOf(placement, bindingInformer.Lister().ManagedClusterSetBindings(placement.Namespace),
		setInformer.Lister(), clusterInformer.Lister())
	if err != nil {
		return r, err
	}
	r.EligibleClusterSets = eligible
	for _, c := range candidates {
		r.Candidates = append(r.Candidates, c.Name)
	}
	sort.Strings(r.Candidates)
	res, status := scheduler.Schedule(ctx, placement.DeepCopy(), candidates)
	r.Status = codeName(status.Code())
	r.Message = status.Message()
	for _, f := range res.FilterResults() {
		r.Filters = append(r.Filters, filter{Name: f.Name, Clusters: f.FilteredClusters})
	}
	for _, p := range res.PrioritizerResults() {
		r.Prioritizers = append(r.Prioritizers, prioritizer{Name: p.Name, Weight: p.Weight, Scores: p.Scores})
	}
	sort.Slice(r.Prioritizers, func(i, j int) bool { return r.Prioritizers[i].Name < r.Prioritizers[j].Name })
	r.Scores = res.PrioritizerScores()
	r.Decisions = []string{}
	for _, c := range res.Decisions() {
		r.Decisions = append(r.Decisions, c.Name)
	}

	// The real scheduling controller, driven by one Sync, writes the PlacementDecisions.
	key := placement.Namespace + "/" + placement.Name
	syncErr := controller.Sync(ctx, factory.NewSyncContext("oracle"), key)
	decisions, err := client.ClusterV1beta1().PlacementDecisions(placement.Namespace).List(ctx,
		metav1.ListOptions{LabelSelector: clusterapiv1beta1.PlacementLabel + "=" + placement.Name})
	if err != nil {
		return r, err
	}
	r.ControllerDecisions = []string{}
	for _, d := range decisions.Items {
		for _, cd := range d.Status.Decisions {
			r.ControllerDecisions = append(r.ControllerDecisions, cd.ClusterName)
		}
	}
	sort.Strings(r.ControllerDecisions)
	updated, err := client.ClusterV1beta1().Placements(placement.Namespace).Get(ctx, placement.Name, metav1.GetOptions{})
	if err != nil {
		return r, err
	}
	r.NumberOfSelected = updated.Status.NumberOfSelectedClusters
	for _, c := range updated.Status.Conditions {
		r.Conditions = append(r.Conditions, fmt.Sprintf("%s=%s (%s): %s", c.Type, c.Status, c.Reason, c.Message))
	}
	if syncErr != nil && r.Message == "" {
		r.Message = syncErr.Error()
	}
	if !sets.New(r.Decisions...).Equal(sets.New(r.ControllerDecisions...)) {
		return r, fmt.Errorf("%s: scheduler decided %v but the controller wrote %v", key, r.Decisions, r.ControllerDecisions)
	}
	return r, nil
}

// candidatesOf mirrors syncPlacement's first three steps with the same inputs. In OCM v1.2 they
// are unexported methods of the controller (getValidManagedClusterSetBindings,
// getEligibleClusterSets, getAvailableClusters); the cluster-set membership itself is the
// exported sdk-go helper the controller calls. The controller run in schedule() cross-checks the
// result: its PlacementDecisions must hold exactly the clusters the scheduler chose here.
func candidatesOf(placement *clusterapiv1beta1.Placement,
	bindingLister clusterlisterv1beta2.ManagedClusterSetBindingNamespaceLister,
	setLister clusterlisterv1beta2.ManagedClusterSetLister,
	clusterLister clusterlisterv1.ManagedClusterLister,
) ([]*clusterapiv1.ManagedCluster, []string, error) {
	bindings, err := bindingLister.List(labels.Everything())
	if err != nil {
		return nil, nil, err
	}
	names := sets.New[string]()
	for _, b := range bindings {
		if _, err := setLister.Get(b.Name); err == nil { // bindings to missing sets are ignored
			names.Insert(b.Name)
		}
	}
	if len(placement.Spec.ClusterSets) != 0 {
		names = names.Intersection(sets.New(placement.Spec.ClusterSets...))
	}
	eligible := sets.List(names)
	byName := map[string]*clusterapiv1.ManagedCluster{}
	for _, n := range eligible {
		set, err := setLister.Get(n)
		if err != nil {
			return nil, nil, err
		}
		clusters, err := clustersdkv1beta2.GetClustersFromClusterSet(set, clusterLister)
		if err != nil {
			return nil, nil, err
		}
		for _, c := range clusters {
			if c.DeletionTimestamp.IsZero() {
				byName[c.Name] = c
			}
		}
	}
	var out []*clusterapiv1.ManagedCluster
	for _, c := range byName {
		out = append(out, c)
	}
	// The controller passes a map's values (random order); the scheduler's stable sort by score
	// then name makes the result independent of it.
	return out, eligible, nil
}
