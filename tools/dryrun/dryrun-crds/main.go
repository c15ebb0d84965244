// Command dryrun-crds is config-policy-controller's dryrun CLI (pkg/dryrun, the version pinned in
// ../go.mod) with one addition: the kinds of its --mappings-file are registered, with their List
// kinds, in client-go's scheme before dryrun starts.
//
// Why: dryrun serves the cluster from client-go's fake dynamic client, built with
// NewSimpleDynamicClient(scheme.Scheme) (pkg/dryrun/dryrun.go, setupReconciler). That client can
// only LIST kinds whose List type the scheme knows, and panics otherwise ("you must register
// resource to list kind"), which the Go runtime reports with exit code 2, the code dryrun uses
// for NonCompliant. A ConfigurationPolicy template without a name (mustnothave "any
// FederatedLearning with ...") lists, so every custom resource needs its List kind. On a real
// cluster the API server serves those lists; this is the only part of the evaluation not upstream's.
package main

import (
	"fmt"
	"os"
	"strings"

	extv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
	policyv1 "open-cluster-management.io/config-policy-controller/api/v1"
	"open-cluster-management.io/config-policy-controller/pkg/dryrun"
	"open-cluster-management.io/config-policy-controller/pkg/mappings"
	"sigs.k8s.io/yaml"
)

func mappingsPath(args []string) string {
	for i, a := range args {
		if a == "--mappings-file" && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, "--mappings-file="); ok {
			return v
		}
	}
	return os.Getenv("DRYRUN_MAPPINGS_FILE")
}

func main() {
	// the types dryrun registers itself (setupReconciler), first, so the loop below leaves them be
	if err := policyv1.AddToScheme(scheme.Scheme); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := extv1.AddToScheme(scheme.Scheme); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if path := mappingsPath(os.Args[1:]); path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		var apiMappings []mappings.APIMapping
		if err := yaml.Unmarshal(raw, &apiMappings); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		for _, m := range apiMappings {
			gvk := schema.GroupVersionKind{Group: m.Group, Version: m.Version, Kind: m.Kind}
			if !scheme.Scheme.Recognizes(gvk) {
				scheme.Scheme.AddKnownTypeWithName(gvk, &unstructured.Unstructured{})
			}
			gvk.Kind += "List"
			if !scheme.Scheme.Recognizes(gvk) {
				scheme.Scheme.AddKnownTypeWithName(gvk, &unstructured.UnstructuredList{})
			}
		}
	}
	// as cmd/dryrun/main.go
	if err := dryrun.Execute(); err != nil {
		os.Exit(1)
	}
}
