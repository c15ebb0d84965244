// Command hubtemplates resolves a root Policy's hub templates for managed clusters the way the
// governance-policy-propagator does when it replicates the Policy into a cluster namespace,
// without a hub: the hub's objects come from a file and are served by client-go's fake dynamic
// client.
//
// What is the propagator's (governance-policy-propagator, the version pinned in go.mod):
//   - the resolver configuration of main.go / controllers/propagator/template_utils.go:
//     AdditionalIndentation 8, no disabled functions, SkipBatchManagement, delimiters
//     propagator.TemplateStartDelim / TemplateStopDelim ("{{hub" / "hub}}");
//   - per policy-template, as in controllers/propagator/propagation.go processTemplates: only
//     templates that contain a hub template are resolved, with the context
//     {ManagedClusterName, ManagedClusterLabels, PolicyMetadata} and the resolve options of
//     getTemplateResolverOpts (ManagedCluster <cluster> allowed cluster-scoped, lookups restricted
//     to the policy's namespace);
//   - the template engine itself: github.com/stolostron/go-template-utils/v7 ResolveTemplate.
//
// What is ours: NewResolverWithClients (the non-caching constructor) instead of the propagator's
// watcher-backed one, so no Watcher option; ManagedClusterLabels is set in the context directly
// instead of through the propagator's context transformer that reads the ManagedCluster.
//
// Usage: hubtemplates INPUT.json  ->  {"<cluster>": replicated Policy} as JSON on stdout
// INPUT.json: {"policy": Policy, "clusters": [{"name", "labels"}], "hubObjects": [objects],
// "resources": [{"group", "version", "kind", "plural", "namespaced"}]} (the API resources of
// the hub objects, for discovery).
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"github.com/stolostron/go-template-utils/v7/pkg/templates"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	discoveryfake "k8s.io/client-go/discovery/fake"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"

	"open-cluster-management.io/governance-policy-propagator/controllers/propagator"
)

type resource struct {
	Group      string `json:"group"`
	Version    string `json:"version"`
	Kind       string `json:"kind"`
	Plural     string `json:"plural"`
	Namespaced bool   `json:"namespaced"`
}

type cluster struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels"`
}

type input struct {
	Policy     map[string]any   `json:"policy"`
	Clusters   []cluster        `json:"clusters"`
	HubObjects []map[string]any `json:"hubObjects"`
	Resources  []resource       `json:"resources"`
}

// templateCtx is the propagator's (controllers/propagator/propagation.go, type templateCtx).
type templateCtx struct {
	ManagedClusterName   string
	ManagedClusterLabels map[string]string
	PolicyMetadata       map[string]interface{}
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: hubtemplates INPUT.json")
		os.Exit(2)
	}
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var in input
	if err := json.Unmarshal(raw, &in); err != nil {
		fmt.Fprintln(os.Stderr, "bad input:", err)
		os.Exit(2)
	}
	out, err := resolveAll(in)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(out)
}

func resolveAll(in input) (map[string]any, error) {
	listKinds := map[schema.GroupVersionResource]string{}
	byGroupVersion := map[string][]metav1.APIResource{}
	for _, r := range in.Resources {
		listKinds[schema.GroupVersionResource{Group: r.Group, Version: r.Version, Resource: r.Plural}] = r.Kind + "List"
		gv := schema.GroupVersion{Group: r.Group, Version: r.Version}.String()
		byGroupVersion[gv] = append(byGroupVersion[gv], metav1.APIResource{
			Name: r.Plural, Kind: r.Kind, Namespaced: r.Namespaced, Group: r.Group, Version: r.Version,
			Verbs: metav1.Verbs{"get", "list", "watch"},
		})
	}
	var gvs []string
	for gv := range byGroupVersion {
		gvs = append(gvs, gv)
	}
	sort.Strings(gvs)
	fake := &clienttesting.Fake{}
	for _, gv := range gvs {
		fake.Resources = append(fake.Resources, &metav1.APIResourceList{GroupVersion: gv, APIResources: byGroupVersion[gv]})
	}
	objects := []runtime.Object{}
	for _, o := range in.HubObjects {
		objects = append(objects, &unstructured.Unstructured{Object: o})
	}
	dynamicClient := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), listKinds, objects...)

	// the propagator's resolver configuration (main.go, NewResolverWithCaching's templates.Config)
	resolver, err := templates.NewResolverWithClients(dynamicClient, &discoveryfake.FakeDiscovery{Fake: fake}, templates.Config{
		AdditionalIndentation: 8,
		DisabledFunctions:     []string{},
		SkipBatchManagement:   true,
		StartDelim:            propagator.TemplateStartDelim,
		StopDelim:             propagator.TemplateStopDelim,
	})
	if err != nil {
		return nil, err
	}

	root := &unstructured.Unstructured{Object: in.Policy}
	templatesOf, _, err := unstructured.NestedSlice(root.Object, "spec", "policy-templates")
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	for _, c := range in.Clusters {
		replicated := root.DeepCopy()
		resolvedTemplates := make([]any, 0, len(templatesOf))
		for i, t := range templatesOf {
			tmpl, _ := t.(map[string]any)
			def, err := json.Marshal(tmpl["objectDefinition"])
			if err != nil {
				return nil, err
			}
			if !templates.HasTemplate(def, propagator.TemplateStartDelim, false) {
				resolvedTemplates = append(resolvedTemplates, t)
				continue
			}
			ctx := templateCtx{
				ManagedClusterName:   c.Name,
				ManagedClusterLabels: c.Labels,
				PolicyMetadata: map[string]interface{}{
					"annotations": root.GetAnnotations(),
					"labels":      root.GetLabels(),
					"name":        root.GetName(),
					"namespace":   root.GetNamespace(),
				},
			}
			// getTemplateResolverOpts, the default (no hubTemplateOptions.serviceAccountName) branch
			opts := templates.ResolveOptions{
				ClusterScopedAllowList: []templates.ClusterScopedObjectIdentifier{{
					Group: "cluster.open-cluster-management.io", Kind: "ManagedCluster", Name: c.Name,
				}},
				LookupNamespace: root.GetNamespace(),
			}
			copied := map[string]any{}
			for k, v := range tmpl {
				copied[k] = v
			}
			result, err := resolver.ResolveTemplate(def, ctx, &opts)
			if err != nil {
				// As the propagator's setTemplateError (controllers/propagator/template_utils.go):
				// the template stays unresolved, annotated with the error; config-policy-controller
				// then reports it NonCompliant ("Error processing hub templates").
				unresolved := &unstructured.Unstructured{}
				if jerr := json.Unmarshal(def, &unresolved.Object); jerr != nil {
					return nil, jerr
				}
				annotations := unresolved.GetAnnotations()
				if annotations == nil {
					annotations = map[string]string{}
				}
				annotations["policy.open-cluster-management.io/hub-templates-error"] = err.Error()
				unresolved.SetAnnotations(annotations)
				copied["objectDefinition"] = unresolved.Object
				resolvedTemplates = append(resolvedTemplates, copied)
				fmt.Fprintf(os.Stderr, "cluster %s, policy-template %d: %v\n", c.Name, i, err)
				continue
			}
			var resolved any
			if err := json.Unmarshal(result.ResolvedJSON, &resolved); err != nil {
				return nil, err
			}
			copied["objectDefinition"] = resolved
			resolvedTemplates = append(resolvedTemplates, copied)
		}
		if err := unstructured.SetNestedSlice(replicated.Object, resolvedTemplates, "spec", "policy-templates"); err != nil {
			return nil, err
		}
		out[c.Name] = replicated.Object
	}
	return out, nil
}
