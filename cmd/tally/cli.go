package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"tally/config"
)

// invocation is what a command runs with.
type invocation struct {
	cfg            *config.Config
	log            *slog.Logger
	args           []string
	stdout, stderr io.Writer
}

// runtime is a fresh set of connections for a tool, closed by the caller.
func (in invocation) runtime() *runtime { return &runtime{cfg: in.cfg, log: in.log} }

// command is one entry of `tally <command>`. Roles are servers: they log
// JSON to standard output, where container platforms collect it. Tools
// keep standard output for their answer and log to standard error.
type command struct {
	// name is what is typed; a tool under a role's name ("webhooks
	// deliveries") names its first argument too.
	name string
	// synopsis follows the name in the usage text: the arguments, or for
	// a role its description.
	synopsis string
	// help is the tool's description, on its own line in the usage text.
	help string
	// role is the ROLE value that selects a role; empty for a tool.
	role string
	run  func(ctx context.Context, in invocation) error
}

// roleServer runs a role on a runtime of its own, logging its start.
func roleServer(name string, run func(ctx context.Context, rt *runtime) error) func(context.Context, invocation) error {
	return func(ctx context.Context, in invocation) error {
		rt := start(in.log, in.cfg, name)
		defer rt.Close()
		return run(ctx, rt)
	}
}

// tool runs a tool on a runtime of its own.
func tool(run func(ctx context.Context, rt *runtime, args []string, stdout io.Writer) error) func(context.Context, invocation) error {
	return func(ctx context.Context, in invocation) error {
		rt := in.runtime()
		defer rt.Close()
		return run(ctx, rt, in.args, in.stdout)
	}
}

// subcommands lists every command once; the usage text and the choice of log
// output are made from it.
func subcommands() []command {
	return []command{
		{name: "all", role: config.RoleAll, synopsis: "every role in one process (embedded JetStream when NATS_URL is unset)",
			run: func(ctx context.Context, in invocation) error { return runAll(ctx, in.cfg, in.log, in.stdout) }},
		{name: "api", role: config.RoleAPI, synopsis: "the HTTP API on PORT (default 4001)",
			run: func(ctx context.Context, in invocation) error { return runAPI(ctx, in.cfg, in.log) }},
		{name: "projector", role: config.RoleProjector, synopsis: "build the PostgreSQL read models from the event stream",
			run: func(ctx context.Context, in invocation) error { return runProjector(ctx, in.cfg, in.log) }},
		{name: "bridge", role: config.RoleBridge, synopsis: "relay extraction requests to the RabbitMQ scrape queue",
			run: roleServer("bridge", runBridge)},
		{name: "worker", role: config.RoleWorker, synopsis: "extract documents from the scrape queue; scrape linked mailboxes;\n" +
			"finish duplicate checks a command could not", run: roleServer("worker", runWorker)},
		{name: "notifier", role: config.RoleNotifier, synopsis: "e-mail users when an expense is extracted or fails",
			run: roleServer("notifier", runNotifier)},
		{name: "scheduler", role: config.RoleScheduler, synopsis: "send the monthly report at 00:05 on the 1st; queue mailbox scrapes;\n" +
			"purge deleted documents after their grace period", run: roleServer("scheduler", runScheduler)},
		{name: "webhooks", role: config.RoleWebhooks, synopsis: "deliver document events to the tenants' webhook endpoints",
			run: func(ctx context.Context, in invocation) error {
				if len(in.args) > 0 { // not a tool this build has
					rt := in.runtime()
					defer rt.Close()
					return runWebhooksTool(ctx, rt, in.args, in.stdout)
				}
				return roleServer("webhooks", runWebhooks)(ctx, in)
			}},
		{name: "migrate", role: config.RoleMigrateDB, synopsis: "apply database migrations and exit",
			run: func(ctx context.Context, in invocation) error { return runMigrate(ctx, in.cfg, in.log) }},
		{name: "update-cron", role: config.RoleUpdateCron, synopsis: "fetch, check and activate the newest template bundle (--every 24h to repeat)",
			run: func(ctx context.Context, in invocation) error { return runUpdateCron(ctx, in.cfg, in.log, in.args) }},

		{name: "apikey", synopsis: "create [--tenant NAME] [--expires 90d] | list [--tenant NAME] | revoke ID | rotate ID [--expires 90d] [--grace 24h]",
			help: "make, list, revoke or rotate API keys; a new key is printed alone on standard output",
			run: func(ctx context.Context, in invocation) error {
				return runAPIKey(ctx, in.cfg, in.log, in.args, in.stdout)
			}},
		{name: "keys", synopsis: "generate | rotate", help: "print a new master key; re-wrap data keys under TALLY_MASTER_KEY", run: tool(runKeys)},
		{name: "templates", synopsis: "check FILE... | list | rollback [--to VERSION] | keygen --out FILE | sign --key FILE BUNDLE...",
			help: "merchant template bundles",
			run: func(ctx context.Context, in invocation) error {
				return runTemplates(ctx, in.cfg, in.args, in.stdout, in.stderr)
			}},
		{name: "report", synopsis: "monthly [--month YYYY-MM] [--dry-run]", help: "send (or show) the monthly reports now",
			run: tool(runReport)},
		{name: "replay", synopsis: "--projection NAME|all", help: "rebuild read models from the stream and swap them in",
			run: tool(runReplay)},
		{name: "reprocess", synopsis: "[--tenant T] [--ids A,B] [--from D] [--to D] [--vendor V] [--failed]\n" +
			"[--engine-older-than V] [--template-older-than V] [--dry-run]",
			help: "request new extractions for a selection", run: tool(runReprocess)},
		{name: "webhooks deliveries", synopsis: "ENDPOINT_ID [--limit N]", help: "an endpoint's deliveries and attempts, as JSON",
			run: func(ctx context.Context, in invocation) error {
				rt := in.runtime()
				defer rt.Close()
				return runWebhooksTool(ctx, rt, append([]string{"deliveries"}, in.args...), in.stdout)
			}},
		{name: "events", synopsis: "show [--tenant NAME] DOC_ID | tail [--type TYPE] [--from SEQ|TIME]",
			help: "print a document's history, or follow the event stream", run: tool(runEvents)},
		{name: "members", synopsis: "invite [--tenant NAME] [--role admin|member] EMAIL",
			help: "invite a person to the web app: e-mails the link, or prints it without SMTP_URL", run: tool(runMembers)},
		{name: "users", synopsis: "erase [--tenant NAME] EMAIL",
			help: "erase a user's name and e-mail (like DELETE /v1/users/{email})", run: tool(runUsers)},
		{name: "forwarding", synopsis: "dkim [--tenant NAME] on|off", help: "whether forwards must pass DKIM (on by default)",
			run: tool(runForwarding)},
		{name: "backup", synopsis: "DIR", help: "the event stream and the tables that are not read models", run: tool(runBackup)},
		{name: "restore", synopsis: "DIR", help: "a backup into an empty database and stream; rebuilds the read models", run: tool(runRestore)},
		{name: "openapi", help: "print the OpenAPI document",
			run: func(_ context.Context, in invocation) error { return runOpenAPI(in.cfg, in.log, in.stdout) }},
		{name: "extract", synopsis: "[--manifest DIR] [FILE...]", help: "extract fields; one JSON object per line",
			run: func(ctx context.Context, in invocation) error { return runExtract(ctx, in.args, in.stdout) }},
		{name: "version", help: "print the version",
			run: func(_ context.Context, in invocation) error { _, err := fmt.Fprintln(in.stdout, version); return err }},
	}
}

// find picks the command args name, and returns the arguments left for
// it.
func find(name string, args []string) (command, []string, bool) {
	cmds := subcommands()
	if len(args) > 0 {
		for _, c := range cmds {
			if c.name == name+" "+args[0] {
				return c, args[1:], true
			}
		}
	}
	for _, c := range cmds {
		if c.name == name {
			return c, args, true
		}
	}
	return command{}, args, false
}

// usage is the help text, made from subcommands().
func usage() string {
	var b strings.Builder
	b.WriteString("Usage: tally <command> [flags]\n\n")
	var roles []string
	for _, c := range subcommands() {
		if c.role != "" {
			roles = append(roles, c.role)
		}
	}
	fmt.Fprintf(&b, "Roles (or a bare \"tally\" with ROLE=%s):\n", strings.Join(roles, "|"))
	for _, c := range subcommands() {
		if c.role != "" {
			lines := strings.Split(c.synopsis, "\n")
			fmt.Fprintf(&b, "  %-12s %s\n", c.name, lines[0])
			for _, l := range lines[1:] {
				fmt.Fprintf(&b, "  %-12s %s\n", "", l)
			}
		}
	}
	b.WriteString("\nTools:\n")
	for _, c := range subcommands() {
		if c.role != "" {
			continue
		}
		lines := strings.Split(strings.TrimSpace(c.name+" "+c.synopsis), "\n")
		for i, l := range lines {
			if i > 0 {
				l = strings.Repeat(" ", len(c.name)+1) + l
			}
			if i == len(lines)-1 && len(l) < 30 {
				fmt.Fprintf(&b, "  %-30s%s\n", l, c.help)
				continue
			}
			fmt.Fprintf(&b, "  %s\n", l)
			if i == len(lines)-1 {
				fmt.Fprintf(&b, "  %-30s%s\n", "", c.help)
			}
		}
	}
	b.WriteString("\nConfiguration comes from the environment; see docs/operations.md.\n")
	return b.String()
}

// roleCommand is the command ROLE selects: "" when it is unset, a name
// no command has when it names no role.
func roleCommand(role string) string {
	if role == "" {
		return ""
	}
	for _, c := range subcommands() {
		if c.role == role {
			return c.name
		}
	}
	return "role-" + strings.ToLower(role)
}
