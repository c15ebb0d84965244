// appset: Argo CD's own ApplicationSet rendering, as an oracle for fedfleet's ApplicationSet form.
//
// Reads ApplicationSet documents (YAML or JSON, one per file argument or stdin) and prints, as
// JSON, the Applications the applicationset-controller would create from each: the controller's
// own applicationset/controllers/template/template.go GenerateApplications with the list
// generator (applicationset/generators/list.go NewListGenerator) and the template renderer
// (applicationset/utils/utils.go Render: RenderTemplateParams, then templatePatch through
// controllers/template/patch.go applyTemplatePatch). Nothing is re-implemented here.
//
//	appset < applicationset.yaml         the Applications it generates, as a JSON array
//	appset -applications < apps.json     Applications (a JSON array) decoded into Argo CD's types and
//	                                     encoded again, so both sides of a comparison are in one form
//
// TypeMeta (apiVersion, kind) is left out of both: the generator's Applications do not carry it.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	log "github.com/sirupsen/logrus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/argoproj/argo-cd/v3/applicationset/controllers/template"
	"github.com/argoproj/argo-cd/v3/applicationset/generators"
	"github.com/argoproj/argo-cd/v3/applicationset/utils"
	argov1alpha1 "github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
)

func main() {
	applications := flag.Bool("applications", false, "normalise Applications instead of rendering an ApplicationSet")
	flag.Parse()
	log.SetOutput(io.Discard)
	raw, err := io.ReadAll(os.Stdin)
	if err != nil {
		fail(err)
	}
	if *applications {
		var apps []argov1alpha1.Application
		if err := yaml.UnmarshalStrict(raw, &apps); err != nil {
			fail(fmt.Errorf("decoding the Applications: %w", err))
		}
		emit(apps)
		return
	}
	var appSet argov1alpha1.ApplicationSet
	// UnmarshalStrict: a field Argo CD's types do not have is an error, not silently dropped.
	if err := yaml.UnmarshalStrict(raw, &appSet); err != nil {
		fail(fmt.Errorf("decoding the ApplicationSet: %w", err))
	}
	gens := map[string]generators.Generator{"List": generators.NewListGenerator()}
	apps, reason, err := template.GenerateApplications(log.NewEntry(log.StandardLogger()), appSet, gens, &utils.Render{}, nil)
	if err != nil {
		fail(fmt.Errorf("%s: %w", reason, err))
	}
	emit(apps)
}

func emit(apps []argov1alpha1.Application) {
	for i := range apps {
		apps[i].TypeMeta = metav1.TypeMeta{}
	}
	out, err := json.Marshal(apps)
	if err != nil {
		fail(err)
	}
	fmt.Println(string(out))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "appset:", err)
	os.Exit(2)
}
