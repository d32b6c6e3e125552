// Package deploy holds what operators deploy Tally with: the Helm chart
// (helm/tally), the Grafana dashboard (grafana/tally.json) and the
// Prometheus alert rules (prometheus/alerts.yml). It has no code; its
// tests check those files against the code (every metric a query names
// is one Tally exports), and docker-compose.yml at the repository's root
// is loaded as `docker compose` loads it.
package deploy
