package ereceipts

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"tally/seal"
)

// JobIDKeyName is the deployment key that turns stream positions into job
// numbers.
const JobIDKeyName = "ereceipt-job-id-key"

// jobIDBits: job numbers stay below 2^53, so every JSON client reads them
// exactly, and they remain the integers BlinkReceipt clients expect.
const (
	jobIDBits = 52
	halfBits  = jobIDBits / 2
	halfMask  = 1<<halfBits - 1
	// jobIDZero stands for the one position whose number would be 0.
	jobIDZero = 1 << jobIDBits
)

// ErrNoSuchJob: a number that names no job of the tenant.
var ErrNoSuchJob = errors.New("no such job")

// JobID is the number create_job answers for the job whose DocumentUploaded
// is at stream position seq. The stream position itself would tell every
// tenant how many documents all the others upload; the number is a keyed
// permutation of it, different for each tenant, so it says nothing and is
// still turned back into the position without a lookup.
func (s *Store) JobID(ctx context.Context, tenant string, seq uint64) (uint64, error) {
	if seq == 0 || seq >= jobIDZero {
		return 0, fmt.Errorf("job number of stream position %d: out of range", seq)
	}
	key, err := s.jobIDKey(ctx)
	if err != nil {
		return 0, err
	}
	id := permute(key, tenant, seq)
	if id == 0 {
		return jobIDZero, nil
	}
	return id, nil
}

// JobSequence is the stream position of tenant's job number id. A number
// of another tenant leads to an arbitrary position, which the caller finds
// to be no job of this tenant.
func (s *Store) JobSequence(ctx context.Context, tenant string, id uint64) (uint64, error) {
	if id == 0 || id > jobIDZero {
		return 0, ErrNoSuchJob
	}
	key, err := s.jobIDKey(ctx)
	if err != nil {
		return 0, err
	}
	if id == jobIDZero {
		id = 0
	}
	seq := unpermute(key, tenant, id)
	if seq == 0 {
		return 0, ErrNoSuchJob
	}
	return seq, nil
}

func (s *Store) jobIDKey(ctx context.Context) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.jobKey != nil {
		return s.jobKey, nil
	}
	key, err := seal.SharedKey(ctx, s.q, JobIDKeyName)
	if err != nil {
		return nil, fmt.Errorf("job numbers: %w", err)
	}
	s.jobKey = key
	return key, nil
}

// The permutation is a four-round Feistel network on two 26-bit halves
// with HMAC-SHA256 as its round function, which makes it a pseudorandom
// permutation of the 52-bit numbers for each (key, tenant).
const rounds = 4

func round(key []byte, tenant string, i int, half uint64) uint64 {
	mac := hmac.New(sha256.New, key)
	var buf [9]byte
	buf[0] = byte(i)
	binary.BigEndian.PutUint64(buf[1:], half)
	mac.Write([]byte(tenant))
	mac.Write([]byte{0})
	mac.Write(buf[:])
	return binary.BigEndian.Uint64(mac.Sum(nil)[:8]) & halfMask
}

func permute(key []byte, tenant string, x uint64) uint64 {
	l, r := x>>halfBits&halfMask, x&halfMask
	for i := range rounds {
		l, r = r, l^round(key, tenant, i, r)
	}
	return l<<halfBits | r
}

func unpermute(key []byte, tenant string, y uint64) uint64 {
	l, r := y>>halfBits&halfMask, y&halfMask
	for i := rounds - 1; i >= 0; i-- {
		l, r = r^round(key, tenant, i, l), l
	}
	return l<<halfBits | r
}
