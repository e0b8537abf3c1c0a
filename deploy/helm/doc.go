// Package helm holds the tests of the Handoff Helm chart (deploy/helm/handoff):
// they render it with the Helm SDK and decode every object strictly with the
// Kubernetes, KEDA and Prometheus Operator types.
package helm
