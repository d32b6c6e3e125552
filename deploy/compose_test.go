package deploy

import (
	"context"
	"slices"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// TestComposeFileIsValid loads docker-compose.yml with the loader that
// `docker compose` itself uses (schema validation, interpolation, merge of
// the x-tally anchors, consistency of depends_on and volumes), so the
// container path stays valid without a container engine on the machine.
func TestComposeFileIsValid(t *testing.T) {
	opts, err := cli.NewProjectOptions([]string{"../docker-compose.yml"},
		cli.WithWorkingDirectory(".."), cli.WithConsistency(true), cli.WithResolvedPaths(false))
	if err != nil {
		t.Fatal(err)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
	// Every long-running role, and the migration it waits for, runs
	// the one image built from the Dockerfile with the role's subcommand
	// and the DATA_DIR volume that holds the master key.
	for _, role := range append(slices.Clone(roles), "migrate") {
		svc, ok := project.Services[role]
		if !ok {
			t.Errorf("no service for the role %s", role)
			continue
		}
		if svc.Image != "tally:local" || svc.Build == nil || svc.Build.Context != "." && svc.Build.Context != ".." {
			t.Errorf("%s: image %q, build %+v; want tally:local built from the repository", role, svc.Image, svc.Build)
		}
		if len(svc.Command) != 1 || svc.Command[0] != role {
			t.Errorf("%s: command %v, want [%s]", role, svc.Command, role)
		}
		if role == "migrate" {
			continue
		}
		if _, ok := svc.DependsOn["migrate"]; !ok {
			t.Errorf("%s does not wait for the migration", role)
		}
		if !slices.ContainsFunc(svc.Volumes, func(v types.ServiceVolumeConfig) bool { return v.Source == "tally-data" && v.Target == "/data" }) {
			t.Errorf("%s: no tally-data volume at /data: %+v", role, svc.Volumes)
		}
	}
	api := project.Services["api"]
	if len(api.Ports) != 1 || api.Ports[0].Target != 4001 || api.Ports[0].Published != "4001" {
		t.Errorf("api ports %+v, want 4001:4001", api.Ports)
	}
}
