package backup

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"tally/blob"
	"tally/domain"
	"tally/eventstore"
)

// FilesFile indexes the uploaded files in a backup; their bytes are under
// files/, one file per blob key, as stored.
const (
	FilesFile = "files.jsonl.gz"
	filesDir  = "files"
)

// Files is the uploaded files' part of a backup: every file an event in
// the backup names, copied from the blob store.
type Files struct {
	// File is the index (FilesFile): one fileEntry a line.
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
	Count  int    `json:"count"`
	Bytes  int64  `json:"bytes"`
	// Missing are keys an event names that the blob store did not hold:
	// a document purged while the backup ran, or a file lost before it.
	Missing []string `json:"missing,omitempty"`
}

// fileEntry is one uploaded file in the index.
type fileEntry struct {
	Key         string `json:"key"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
}

// fileKeys collects the blob keys of the events a backup holds, in the
// order they were uploaded; a purged document's file is gone, and left out.
type fileKeys struct {
	order []fileEntry
	index map[string]int
}

// see reads one archived event; only uploads and purges name files.
func (k *fileKeys) see(a eventstore.Archived) error {
	uploaded := bytes.Contains(a.Data, []byte(`"`+domain.TypeDocumentUploaded+`"`))
	if !uploaded && !bytes.Contains(a.Data, []byte(`"`+domain.TypeDocumentPurged+`"`)) {
		return nil
	}
	var e domain.Envelope
	if err := json.Unmarshal(a.Data, &e); err != nil {
		return fmt.Errorf("event at sequence %d: %w", a.Sequence, err)
	}
	if k.index == nil {
		k.index = map[string]int{}
	}
	switch e.Type {
	case domain.TypeDocumentUploaded:
		var p domain.DocumentUploaded
		if err := e.Decode(&p); err != nil {
			return err
		}
		if _, ok := k.index[p.BlobKey]; !ok && p.BlobKey != "" {
			k.index[p.BlobKey] = len(k.order)
			k.order = append(k.order, fileEntry{Key: p.BlobKey, ContentType: p.ContentType})
		}
	case domain.TypeDocumentPurged:
		var p domain.DocumentPurged
		if err := e.Decode(&p); err != nil {
			return err
		}
		if i, ok := k.index[p.BlobKey]; ok {
			k.order[i].Key = "" // kept in place, so the other indexes hold
			delete(k.index, p.BlobKey)
		}
	}
	return nil
}

// writeFiles copies each file from the blob store into dir, one at a time
// as a stream, and writes the index.
func writeFiles(ctx context.Context, dir string, keys *fileKeys, store blob.Store) (*Files, error) {
	files := &Files{File: FilesFile}
	sum, err := writeGzip(filepath.Join(dir, FilesFile), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		for _, f := range keys.order {
			if f.Key == "" {
				continue
			}
			size, sum, err := copyFile(ctx, store, f.Key, filepath.Join(dir, filesDir, filepath.FromSlash(f.Key)))
			if errors.Is(err, blob.ErrNotFound) {
				files.Missing = append(files.Missing, f.Key)
				continue
			}
			if err != nil {
				return fmt.Errorf("file %s: %w", f.Key, err)
			}
			f.Size, f.SHA256 = size, sum
			if err := enc.Encode(f); err != nil {
				return err
			}
			files.Count++
			files.Bytes += size
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("backup: files: %w", err)
	}
	files.SHA256 = sum
	return files, nil
}

// copyFile streams one blob into a new file, synced before it counts.
func copyFile(ctx context.Context, store blob.Store, key, path string) (int64, string, error) {
	r, err := store.Get(ctx, key)
	if err != nil {
		return 0, "", err
	}
	defer r.Close()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return 0, "", err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), r)
	if err != nil {
		return 0, "", err
	}
	if err := f.Sync(); err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), f.Close()
}

// restoreFiles puts every file of the index into the blob store, each
// checked against its size and checksum before it is stored.
func restoreFiles(ctx context.Context, dir string, files *Files, store blob.Store) error {
	r, err := openVerified(dir, files.File, files.SHA256)
	if err != nil {
		return fmt.Errorf("restore: files: %w", err)
	}
	defer r.Close()
	dec := json.NewDecoder(bufio.NewReaderSize(r, 1<<16))
	n := 0
	for {
		var f fileEntry
		if err := dec.Decode(&f); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return fmt.Errorf("restore: files: %w", err)
		}
		if err := restoreFile(ctx, dir, f, store); err != nil {
			return fmt.Errorf("restore: file %s: %w", f.Key, err)
		}
		n++
	}
	if err := r.Verify(); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if n != files.Count {
		return fmt.Errorf("restore: files: %d restored, the manifest says %d", n, files.Count)
	}
	return nil
}

func restoreFile(ctx context.Context, dir string, f fileEntry, store blob.Store) error {
	// The key becomes a path here before the blob store sees it.
	if f.Key == "" || filepath.IsAbs(f.Key) || strings.Contains(f.Key, "..") || strings.Contains(f.Key, `\`) {
		return errors.New("not a blob key")
	}
	file, err := os.Open(filepath.Join(dir, filesDir, filepath.FromSlash(f.Key)))
	if err != nil {
		return err
	}
	defer file.Close()
	h := sha256.New()
	n, err := io.Copy(h, file)
	if err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); n != f.Size || got != f.SHA256 {
		return fmt.Errorf("%d bytes with checksum %s, the index says %d bytes with %s: the file changed since the backup", n, got, f.Size, f.SHA256)
	}
	// Read twice rather than held: the file goes to the store as a
	// seekable stream, which S3 uploads without buffering it.
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return err
	}
	return store.Put(ctx, f.Key, file, f.Size, f.ContentType)
}
