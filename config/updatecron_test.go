package config

import (
	"strings"
	"testing"
	"time"
)

func TestUpdateCron(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	u, err := LoadUpdateCron(env(map[string]string{"DB_UPDATE_S3_BUCKET": "b", "DB_UPDATE_S3_PREFIX": "p/", "DB_UPDATE_INTERVAL": "24h"}))
	if err != nil || u != (UpdateCron{Bucket: "b", Prefix: "p/", Every: 24 * time.Hour}) || u.Validate() != nil {
		t.Fatalf("got %+v, %v, %v", u, err, u.Validate())
	}
	for _, c := range []struct {
		env  map[string]string
		want []string
	}{
		{map[string]string{"DB_UPDATE_INTERVAL": "daily"}, []string{`DB_UPDATE_INTERVAL: "daily"`}},
		{map[string]string{"DB_UPDATE_INTERVAL": "-1h", "DB_UPDATE_DIR": "d"}, []string{`DB_UPDATE_INTERVAL: "-1h"`}},
	} {
		if _, err := LoadUpdateCron(env(c.env)); err == nil || !strings.Contains(err.Error(), c.want[0]) {
			t.Errorf("%v: error %v, want %q", c.env, err, c.want[0])
		}
	}
	for _, c := range []struct {
		u    UpdateCron
		want []string
	}{
		{UpdateCron{}, []string{"DB_UPDATE_S3_BUCKET or DB_UPDATE_DIR"}},
		{UpdateCron{Bucket: "b", Dir: "d", Every: -time.Second}, []string{"both set", "must not be negative"}},
		{UpdateCron{Dir: "d"}, nil},
	} {
		err := c.u.Validate()
		if (err == nil) != (len(c.want) == 0) {
			t.Fatalf("%+v: error %v, want %v", c.u, err, c.want)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: error %v lacks %q", c.u, err, w)
			}
		}
	}
}
