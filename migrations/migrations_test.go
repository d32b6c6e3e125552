package migrations_test

import (
	"context"
	"sync"
	"testing"

	"tally/migrations"
	"tally/migrations/pgtest"
)

func TestApplyIsIdempotentAndConcurrent(t *testing.T) {
	dsn, _ := pgtest.New(t)
	var wg sync.WaitGroup
	versions := make([]int64, 3)
	errs := make([]error, 3)
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			versions[i], errs[i] = migrations.Apply(context.Background(), dsn)
		}()
	}
	wg.Wait()
	for i := range 3 {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if versions[i] != versions[0] || versions[i] < 2 {
			t.Fatalf("versions %v", versions)
		}
	}
}
