package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"tally/commands"
	"tally/domain"
	"tally/extract"
	"tally/readmodel"
	"tally/reprocess"
)

// runReprocess is `tally reprocess --tenant T [selection] [--dry-run]`.
func runReprocess(ctx context.Context, rt *runtime, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("reprocess", flag.ContinueOnError)
	tenant := fs.String("tenant", rt.cfg.DefaultTenant, "tenant whose documents to reprocess")
	ids := fs.String("ids", "", "comma-separated document ids")
	from := fs.String("from", "", "uploaded at or after (YYYY-MM-DD or RFC 3339)")
	to := fs.String("to", "", "uploaded before (YYYY-MM-DD or RFC 3339)")
	vendor := fs.String("vendor", "", "vendor, case-insensitive; % is a wildcard")
	failed := fs.Bool("failed", false, "only FAILED documents")
	engine := fs.String("engine-older-than", "", "fields from an engine version before this one")
	template := fs.String("template-older-than", "", "fields from a template bundle before this version")
	reason := fs.String("reason", "reprocess", "reason recorded in the history")
	dryRun := fs.Bool("dry-run", false, "list the documents and the fields a new extraction would change; change nothing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	sel := reprocess.Selection{Vendor: *vendor, FailedOnly: *failed, EngineOlderThan: *engine, TemplateOlderThan: *template}
	if *ids != "" {
		sel.DocumentIDs = strings.Split(*ids, ",")
	}
	var err error
	if sel.From, err = parseDay("--from", *from); err != nil {
		return err
	}
	if sel.To, err = parseDay("--to", *to); err != nil {
		return err
	}
	rt.useRunningServer("reprocess")
	if err := rt.openDatabase(ctx); err != nil {
		return err
	}
	if err := rt.openEvents(ctx); err != nil {
		return err
	}
	opts := reprocess.Options{Reason: *reason, DryRun: *dryRun}
	if *dryRun {
		// The dry run extracts the selection again (the first
		// reprocess.MaxPreview documents) to show what would change.
		if err := rt.openBlobs(ctx); err != nil {
			return err
		}
		var wg sync.WaitGroup
		tctx, stop := context.WithCancel(ctx)
		defer func() { stop(); wg.Wait() }()
		engine := extract.New(rt.extractLimits()).WithTemplates(startTemplates(tctx, &wg, rt)).
			WithNeuralOCR(openOCRModels(rt.cfg.OCRModelsDir, rt.log))
		opts.Preview = rt.previewer(engine)
	}
	outcomes, err := reprocess.Run(ctx, readmodel.New(rt.pool), commands.New(rt.events, nil, rt.log),
		commands.Meta{Tenant: *tenant}, sel, opts)
	out := json.NewEncoder(stdout)
	for _, o := range outcomes {
		if encErr := out.Encode(o); encErr != nil {
			return encErr
		}
	}
	return err
}

func parseDay(flagName, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{"2006-01-02", time.RFC3339} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%s %q is neither YYYY-MM-DD nor an RFC 3339 time", flagName, v)
}

// previewer extracts a stored document again with engine, recording
// nothing: what a dry run shows as the changes a reprocess would make.
func (r *runtime) previewer(engine *extract.Engine) reprocess.Previewer {
	cmds := commands.New(r.events, r.blobs, r.log)
	return func(ctx context.Context, tenant, docID string) (domain.Fields, error) {
		d, err := cmds.Documents().Load(ctx, tenant, docID)
		if err != nil {
			return domain.Fields{}, err
		}
		rc, err := r.blobs.Get(ctx, d.BlobKey)
		if err != nil {
			return domain.Fields{}, fmt.Errorf("read the document's file: %w", err)
		}
		defer rc.Close()
		content, err := io.ReadAll(io.LimitReader(rc, r.cfg.MaxFileSize()+1))
		if err != nil {
			return domain.Fields{}, fmt.Errorf("read the document's file: %w", err)
		}
		ctx, cancel := context.WithTimeout(ctx, r.cfg.ScrapeWorkerTimeout)
		defer cancel()
		return engine.Extract(ctx, content, d.ContentType)
	}
}
