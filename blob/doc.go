// Package blob is Tally's raw document store. Its one job is to keep uploaded
// files by key: put bytes under a key, get them back, delete them.
//
// Invariants every backend upholds:
//
//   - Keys are validated identically by every backend before any I/O, so a key
//     that is accepted by one backend is accepted by all, and a key that could
//     escape the store (absolute, "..", backslashes) never reaches a
//     filesystem or an S3 request. Rejections wrap ErrInvalidKey.
//   - A Put either stores exactly size bytes under the key or fails; readers
//     never observe a partially written object under the final key, and a
//     body whose length disagrees with size is refused rather than stored.
//   - A missing key is reported as an error wrapping ErrNotFound on Get, and
//     Delete of a missing key succeeds, so callers can retry deletes freely.
//
// Nothing here knows about tenants, documents or metadata; the key layout
// ("tenant/2026/11/<uuid>.pdf") is the caller's convention, not this package's.
package blob
