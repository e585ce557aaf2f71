package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/util/validation"
	kyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// manifests is one file's objects by kind and name.
type manifests struct {
	services     map[string]*corev1.Service
	configMaps   map[string]*corev1.ConfigMap
	secrets      map[string]*corev1.Secret
	statefulSets map[string]*appsv1.StatefulSet
	pdbs         map[string]*policyv1.PodDisruptionBudget
}

// decodeManifests decodes every document of a multi-document YAML file
// strictly into the API's types: an unknown or duplicate field, a value of
// the wrong type or a kind this checker does not know is a problem, as the
// API server's strict field validation (kubectl --validate=strict) would
// make it. Problems name the document and the object.
func decodeManifests(data []byte) (*manifests, []string, error) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, policyv1.AddToScheme} {
		if err := add(scheme); err != nil {
			return nil, nil, err
		}
	}
	ser := kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme, scheme, kjson.SerializerOptions{Yaml: true, Strict: true})
	m := &manifests{
		services: map[string]*corev1.Service{}, configMaps: map[string]*corev1.ConfigMap{},
		secrets: map[string]*corev1.Secret{}, statefulSets: map[string]*appsv1.StatefulSet{},
		pdbs: map[string]*policyv1.PodDisruptionBudget{},
	}
	var problems []string
	r := kyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for i := 1; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("document %d: %w", i, err)
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		obj, gvk, err := ser.Decode(doc, nil, nil)
		if err != nil {
			problems = append(problems, fmt.Sprintf("document %d: %v", i, err))
			continue
		}
		meta, ok := obj.(metav1.Object)
		if !ok {
			problems = append(problems, fmt.Sprintf("document %d: %s has no metadata", i, gvk.Kind))
			continue
		}
		name := meta.GetName()
		where := fmt.Sprintf("document %d (%s %s)", i, gvk.Kind, name)
		for _, msg := range validation.IsDNS1123Subdomain(name) {
			problems = append(problems, fmt.Sprintf("%s: metadata.name: %s", where, msg))
		}
		problems = append(problems, checkLabels(where+": metadata.labels", meta.GetLabels())...)
		var dup bool
		switch o := obj.(type) {
		case *corev1.Service:
			dup = put(m.services, name, o)
		case *corev1.ConfigMap:
			dup = put(m.configMaps, name, o)
		case *corev1.Secret:
			dup = put(m.secrets, name, o)
		case *appsv1.StatefulSet:
			dup = put(m.statefulSets, name, o)
		case *policyv1.PodDisruptionBudget:
			dup = put(m.pdbs, name, o)
		default:
			problems = append(problems, fmt.Sprintf("%s: kind not checked here; add it to deploy/check", where))
		}
		if dup {
			problems = append(problems, where+": defined twice")
		}
	}
	return m, problems, nil
}

func put[T any](m map[string]T, name string, v T) (dup bool) {
	_, dup = m[name]
	m[name] = v
	return dup
}

func stripComments(doc []byte) []byte {
	var out []byte
	for l := range bytes.Lines(doc) {
		if !bytes.HasPrefix(bytes.TrimSpace(l), []byte("#")) {
			out = append(out, l...)
		}
	}
	return out
}

func checkLabels(where string, l map[string]string) []string {
	var problems []string
	for k, v := range l {
		for _, msg := range validation.IsQualifiedName(k) {
			problems = append(problems, fmt.Sprintf("%s: key %q: %s", where, k, msg))
		}
		for _, msg := range validation.IsValidLabelValue(v) {
			problems = append(problems, fmt.Sprintf("%s: %s=%q: %s", where, k, v, msg))
		}
	}
	return problems
}

// checkKubernetesFile decodes path and checks what the API server would
// only find at apply time or a pod at start: references between objects.
func checkKubernetesFile(path, extract string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, problems, err := decodeManifests(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	problems = append(problems, m.references()...)
	if len(m.statefulSets) == 0 {
		problems = append(problems, "no StatefulSet: the example is a clustered deployment")
	}
	for i := range problems {
		problems[i] = path + ": " + problems[i]
	}
	if extract != "" && len(problems) == 0 {
		for name, cm := range m.configMaps {
			dir := filepath.Join(extract, name)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, err
			}
			for key, v := range cm.Data {
				if err := os.WriteFile(filepath.Join(dir, key), []byte(v), 0o644); err != nil {
					return nil, err
				}
			}
		}
	}
	return problems, nil
}

// references checks each StatefulSet against the objects it names: its
// governing headless Service (stable pod names for the JetStream routes),
// the ConfigMaps and Secrets its pods read, its probes and ports, and the
// Services and PodDisruptionBudgets that select its pods.
func (m *manifests) references() []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	for name, sts := range m.statefulSets {
		where := "StatefulSet " + name
		sel, err := metav1.LabelSelectorAsSelector(sts.Spec.Selector)
		if err != nil || sel.Empty() {
			add("%s: spec.selector: %v (must select the template's labels)", where, err)
			continue
		}
		podLabels := labels.Set(sts.Spec.Template.Labels)
		if !sel.Matches(podLabels) {
			add("%s: spec.selector %s does not match the template's labels %v", where, sel, podLabels)
		}
		svc := m.services[sts.Spec.ServiceName]
		switch {
		case svc == nil:
			add("%s: spec.serviceName %q names no Service in the file", where, sts.Spec.ServiceName)
		case svc.Spec.ClusterIP != corev1.ClusterIPNone:
			add("%s: Service %s must be headless (clusterIP: None) to give pods stable DNS names", where, svc.Name)
		case !svc.Spec.PublishNotReadyAddresses:
			add("%s: Service %s needs publishNotReadyAddresses: the servers must find each other before any is ready", where, svc.Name)
		}
		if sts.Spec.PodManagementPolicy != appsv1.ParallelPodManagement {
			add("%s: podManagementPolicy must be Parallel: with OrderedReady the first pod waits for a quorum that is never started", where)
		}
		if sts.Spec.Replicas == nil || *sts.Spec.Replicas != 3 {
			add("%s: replicas must be 3 (the example's JetStream cluster has three servers)", where)
		}
		pod := &sts.Spec.Template.Spec
		volumes := map[string]bool{}
		for _, v := range pod.Volumes {
			volumes[v.Name] = true
			if v.ConfigMap != nil {
				cm := m.configMaps[v.ConfigMap.Name]
				if cm == nil {
					add("%s: volume %s: ConfigMap %q is not in the file", where, v.Name, v.ConfigMap.Name)
				}
			}
			if v.Secret != nil && m.secrets[v.Secret.SecretName] == nil {
				add("%s: volume %s: Secret %q is not in the file", where, v.Name, v.Secret.SecretName)
			}
		}
		for _, c := range sts.Spec.VolumeClaimTemplates {
			volumes[c.Name] = true
		}
		ports := map[string]int32{}
		for _, c := range pod.Containers {
			cw := where + " container " + c.Name
			for _, p := range c.Ports {
				ports[p.Name] = p.ContainerPort
			}
			for _, vm := range c.VolumeMounts {
				if !volumes[vm.Name] {
					add("%s: volumeMount %s names no volume or volumeClaimTemplate", cw, vm.Name)
				}
			}
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					ref := e.ValueFrom.SecretKeyRef
					s := m.secrets[ref.Name]
					if s == nil {
						add("%s: env %s: Secret %q is not in the file", cw, e.Name, ref.Name)
					} else if _, ok := s.StringData[ref.Key]; !ok {
						if _, ok := s.Data[ref.Key]; !ok {
							add("%s: env %s: Secret %s has no key %q", cw, e.Name, ref.Name, ref.Key)
						}
					}
				}
			}
			rp := c.ReadinessProbe
			if rp == nil || rp.HTTPGet == nil || rp.HTTPGet.Path != "/readyz" {
				add("%s: readinessProbe must be httpGet /readyz", cw)
			} else if n := rp.HTTPGet.Port.StrVal; n != "" && !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == n }) {
				add("%s: readinessProbe port %q is not a named container port", cw, n)
			}
			if sc := c.SecurityContext; sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				add("%s: securityContext.allowPrivilegeEscalation must be false", cw)
			}
		}
		if psc := pod.SecurityContext; psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
			add("%s: the pod's securityContext.runAsNonRoot must be true", where)
		}
		for _, svc := range m.services {
			if !labels.SelectorFromSet(svc.Spec.Selector).Matches(podLabels) {
				continue
			}
			for _, p := range svc.Spec.Ports {
				if n := p.TargetPort.StrVal; n != "" {
					if _, ok := ports[n]; !ok {
						add("Service %s: port %s targets %q, which %s's pods do not name", svc.Name, p.Name, n, name)
					}
				}
			}
		}
		problems = append(problems, m.routes(sts)...)
	}
	for name, pdb := range m.pdbs {
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil {
			add("PodDisruptionBudget %s: %v", name, err)
			continue
		}
		matched := false
		for _, sts := range m.statefulSets {
			matched = matched || sel.Matches(labels.Set(sts.Spec.Template.Labels))
		}
		if !matched {
			add("PodDisruptionBudget %s: selector %s selects no pods of the file", name, sel)
		}
	}
	for name, svc := range m.services {
		if len(svc.Spec.Selector) == 0 {
			continue
		}
		matched := false
		for _, sts := range m.statefulSets {
			matched = matched || labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(sts.Spec.Template.Labels))
		}
		if !matched {
			add("Service %s: selector %v selects no pods of the file", name, svc.Spec.Selector)
		}
	}
	return problems
}

// routes checks that the panoptes config mounted into sts lists each of its
// pods' stable names as a cluster route: <sts>-<i>.<serviceName>.
func (m *manifests) routes(sts *appsv1.StatefulSet) []string {
	var cfgText string
	for _, v := range sts.Spec.Template.Spec.Volumes {
		if v.ConfigMap != nil && m.configMaps[v.ConfigMap.Name] != nil {
			cfgText = m.configMaps[v.ConfigMap.Name].Data["panoptes.yaml"]
		}
	}
	if cfgText == "" {
		return []string{fmt.Sprintf("StatefulSet %s: no ConfigMap with a panoptes.yaml key is mounted", sts.Name)}
	}
	var cfg struct {
		Bus struct {
			Replicas int `json:"replicas"`
			Cluster  struct {
				Routes []string `json:"routes"`
			} `json:"cluster"`
		} `json:"bus"`
	}
	if err := yaml.Unmarshal([]byte(cfgText), &cfg); err != nil {
		return []string{fmt.Sprintf("StatefulSet %s: panoptes.yaml: %v", sts.Name, err)}
	}
	var problems []string
	replicas := int(*sts.Spec.Replicas)
	if cfg.Bus.Replicas != replicas {
		problems = append(problems, fmt.Sprintf("panoptes.yaml: bus.replicas %d, but the StatefulSet runs %d pods", cfg.Bus.Replicas, replicas))
	}
	for i := range replicas {
		host := fmt.Sprintf("%s-%d.%s:", sts.Name, i, sts.Spec.ServiceName)
		if !slices.ContainsFunc(cfg.Bus.Cluster.Routes, func(r string) bool { return strings.Contains(r, "://"+host) }) {
			problems = append(problems, fmt.Sprintf("panoptes.yaml: bus.cluster.routes lacks pod %d's stable name %s…", i, host))
		}
	}
	if len(cfg.Bus.Cluster.Routes) != replicas {
		problems = append(problems, fmt.Sprintf("panoptes.yaml: %d bus.cluster.routes for %d pods", len(cfg.Bus.Cluster.Routes), replicas))
	}
	return problems
}
