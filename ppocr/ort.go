package ppocr

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// The part of ONNX Runtime's C API this package calls. The library is
// loaded at run time (dlopen), so Tally builds without cgo and runs
// without the library, falling back to Tesseract.
//
// ortAPIVersion is the C API version asked for: a library of this version
// or newer answers it (the table only ever grows). The numbers below are
// the functions' places in struct OrtApi of onnxruntime_c_api.h for that
// version; the table is append-only, so they hold for newer libraries.
const (
	ortAPIVersion = 20

	ortGetErrorMessage                = 2
	ortCreateEnv                      = 3
	ortCreateSession                  = 7
	ortRun                            = 9
	ortCreateSessionOptions           = 10
	ortSetSessionExecutionMode        = 13
	ortSetSessionGraphOptimization    = 23
	ortSetIntraOpNumThreads           = 24
	ortSetInterOpNumThreads           = 25
	ortSessionGetInputName            = 36
	ortSessionGetOutputName           = 37
	ortCreateRunOptions               = 39
	ortCreateTensorWithDataAsOrtValue = 49
	ortGetTensorMutableData           = 51
	ortGetDimensionsCount             = 61
	ortGetDimensions                  = 62
	ortGetTensorTypeAndShape          = 65
	ortCreateCPUMemoryInfo            = 69
	ortAllocatorFree                  = 76
	ortGetAllocatorWithDefaultOptions = 78
	ortReleaseEnv                     = 92
	ortReleaseStatus                  = 93
	ortReleaseMemoryInfo              = 94
	ortReleaseSession                 = 95
	ortReleaseValue                   = 96
	ortReleaseRunOptions              = 97
	ortReleaseTensorTypeAndShapeInfo  = 99
	ortReleaseSessionOptions          = 100
	ortAddRunConfigEntry              = 165

	ortLoggingLevelError  = 3
	ortEnableAll          = 99 // graph optimisation level
	ortSequential         = 0  // execution mode
	ortArenaAllocator     = 1
	ortMemTypeDefault     = 0
	ortTensorElementFloat = 1
)

// runtimeLib is a loaded ONNX Runtime: its API table and one environment.
type runtimeLib struct {
	api *[ortAddRunConfigEntry + 1]uintptr
	env uintptr
	mem uintptr // CPU memory info for the tensors this package creates
	// mallocTrim is the C library's malloc_trim, 0 where there is none
	mallocTrim uintptr
}

var (
	loadOnce sync.Once
	loaded   *runtimeLib
	loadErr  error
)

// loadRuntime opens the ONNX Runtime library once per process: ONNX
// Runtime allows one environment per process, shared by every session.
func loadRuntime(path string) (*runtimeLib, error) {
	loadOnce.Do(func() { loaded, loadErr = openRuntime(path) })
	if loadErr != nil {
		return nil, loadErr
	}
	return loaded, nil
}

func openRuntime(path string) (*runtimeLib, error) {
	// before the library allocates anything: mallopt applies to what is
	// allocated after it
	libc, libcErr := purego.Dlopen("libc.so.6", purego.RTLD_NOW|purego.RTLD_LOCAL)
	if libcErr == nil {
		mapLargeBlocks(libc)
	}
	h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		return nil, fmt.Errorf("ppocr: load ONNX Runtime %s: %w", path, err)
	}
	getBase, err := purego.Dlsym(h, "OrtGetApiBase")
	if err != nil {
		return nil, fmt.Errorf("ppocr: %s is not ONNX Runtime: %w", path, err)
	}
	base, _, _ := purego.SyscallN(getBase)
	if base == 0 {
		return nil, errors.New("ppocr: OrtGetApiBase returned nothing")
	}
	// struct OrtApiBase { GetApi; GetVersionString; }
	getAPI := *(*uintptr)(cPointer(base))
	apiPtr, _, _ := purego.SyscallN(getAPI, ortAPIVersion)
	if apiPtr == 0 {
		return nil, fmt.Errorf("ppocr: %s is older than ONNX Runtime 1.%d (C API version %d)", path, ortAPIVersion, ortAPIVersion)
	}
	lib := &runtimeLib{api: (*[ortAddRunConfigEntry + 1]uintptr)(cPointer(apiPtr))}
	logID := cString("tally")
	if err := lib.call(ortCreateEnv, ortLoggingLevelError, ptr(&logID[0]), ptr(&lib.env)); err != nil {
		return nil, fmt.Errorf("ppocr: create environment: %w", err)
	}
	runtime.KeepAlive(logID)
	if err := lib.call(ortCreateCPUMemoryInfo, ortArenaAllocator, ortMemTypeDefault, ptr(&lib.mem)); err != nil {
		return nil, fmt.Errorf("ppocr: memory info: %w", err)
	}
	if libcErr == nil {
		lib.mallocTrim, _ = purego.Dlsym(libc, "malloc_trim")
	}
	return lib, nil
}

// mmapThreshold is the size from which glibc's malloc gives a block pages
// of its own (mmap), returned to the system when the block is freed.
// glibc starts at 128 KiB but raises the threshold to the size of each
// such block freed, up to 32 MiB, after which the models' large
// activations (megabytes each, freed at the end of every run) come from
// its heap, fragment it and stay resident. Fixed at 256 KiB, the 74 dev
// images read one after another peak at 223-229 MB instead of 257 MB, for
// the same CPU (docs/performance.md#memory).
const mmapThreshold = 256 << 10

// mapLargeBlocks fixes glibc's mmap threshold (mallopt M_MMAP_THRESHOLD),
// unless the operator set one (GLIBC_TUNABLES, MALLOC_MMAP_THRESHOLD_). A
// C library without mallopt (musl) leaves this a no-op.
func mapLargeBlocks(libc uintptr) {
	if os.Getenv("MALLOC_MMAP_THRESHOLD_") != "" || strings.Contains(os.Getenv("GLIBC_TUNABLES"), "mmap_threshold") {
		return
	}
	mallopt, err := purego.Dlsym(libc, "mallopt")
	if err != nil {
		return
	}
	param := -3 // M_MMAP_THRESHOLD in malloc.h; C's int, sign-extended
	purego.SyscallN(mallopt, uintptr(param), mmapThreshold)
}

// releaseFreed returns the C heap's free pages to the system: glibc keeps
// freed blocks in its arenas (one per thread that allocated), so the
// models' working memory of the last image would otherwise stay resident
// until the next one happens to reuse it. A C library without
// malloc_trim (musl) leaves this a no-op.
func (l *runtimeLib) releaseFreed() {
	if l.mallocTrim != 0 {
		purego.SyscallN(l.mallocTrim, 0)
	}
}

// call runs API function i and turns the OrtStatus it returns into an
// error (a null status means success).
func (l *runtimeLib) call(i int, args ...uintptr) error {
	status, _, _ := purego.SyscallN(l.api[i], args...)
	if status == 0 {
		return nil
	}
	msg, _, _ := purego.SyscallN(l.api[ortGetErrorMessage], status)
	err := errors.New(goString(msg))
	purego.SyscallN(l.api[ortReleaseStatus], status)
	return err
}

func (l *runtimeLib) release(i int, p uintptr) {
	if p != 0 {
		purego.SyscallN(l.api[i], p)
	}
}

// session is one loaded model with its input and output names. ONNX
// Runtime allows Run on one session from several goroutines at once.
type session struct {
	lib     *runtimeLib
	h       uintptr
	runOpts uintptr // shrinks the arena after each run
	inName  []byte  // NUL-terminated
	outName []byte
}

// newSession loads a model file. threads is the number of threads one Run
// may use: 1 on a small machine, where documents run side by side.
func (l *runtimeLib) newSession(modelPath string, threads int) (*session, error) {
	var opts uintptr
	if err := l.call(ortCreateSessionOptions, ptr(&opts)); err != nil {
		return nil, err
	}
	defer l.release(ortReleaseSessionOptions, opts)
	for _, c := range []struct {
		i int
		v uintptr
	}{
		{ortSetIntraOpNumThreads, uintptr(threads)},
		{ortSetInterOpNumThreads, 1},
		{ortSetSessionExecutionMode, ortSequential},
		{ortSetSessionGraphOptimization, ortEnableAll},
	} {
		if err := l.call(c.i, opts, c.v); err != nil {
			return nil, err
		}
	}
	s := &session{lib: l}
	// Each Run hands its arena's free blocks back when it ends
	// (shrinkage): without that the arena kept every block it ever took,
	// and as each image size asks for other sizes, a worker grew with
	// every new size it read (1.2 GB after 74 receipts). Without the arena
	// at all, blocks came from malloc, and glibc's heap, fragmented by a
	// run's many short-lived blocks, held about twice the run's working
	// memory at its peak (one 920 x 1,929 receipt: peak 266 MB with malloc,
	// 210 MB with the shrinking arena, and less CPU, as blocks are reused
	// within a run). releaseFreed then returns what the run freed.
	if err := l.call(ortCreateRunOptions, ptr(&s.runOpts)); err != nil {
		return nil, err
	}
	key, value := cString("memory.enable_memory_arena_shrinkage"), cString("cpu:0")
	if err := l.call(ortAddRunConfigEntry, s.runOpts, ptr(&key[0]), ptr(&value[0])); err != nil {
		s.close()
		return nil, fmt.Errorf("ppocr: arena shrinkage: %w", err)
	}
	runtime.KeepAlive(key)
	runtime.KeepAlive(value)
	path := cString(modelPath)
	if err := l.call(ortCreateSession, l.env, ptr(&path[0]), opts, ptr(&s.h)); err != nil {
		return nil, fmt.Errorf("ppocr: load model %s: %w", modelPath, err)
	}
	runtime.KeepAlive(path)
	var err error
	if s.inName, err = s.name(ortSessionGetInputName); err != nil {
		s.close()
		return nil, err
	}
	if s.outName, err = s.name(ortSessionGetOutputName); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// name reads the model's first input or output name.
func (s *session) name(fn int) ([]byte, error) {
	var alloc, p uintptr
	if err := s.lib.call(ortGetAllocatorWithDefaultOptions, ptr(&alloc)); err != nil {
		return nil, err
	}
	if err := s.lib.call(fn, s.h, 0, alloc, ptr(&p)); err != nil {
		return nil, err
	}
	name := cString(goString(p))
	_ = s.lib.call(ortAllocatorFree, alloc, p)
	return name, nil
}

func (s *session) close() {
	s.lib.release(ortReleaseSession, s.h)
	s.lib.release(ortReleaseRunOptions, s.runOpts)
	s.h, s.runOpts = 0, 0
}

// tensor is a float32 tensor read back from a Run.
type tensor struct {
	shape []int64
	data  []float32
}

// run feeds one float32 input of the given shape and hands the first
// output to use, which reads it in place: the tensor's data is ONNX
// Runtime's memory, valid only until use returns, so a caller copies what
// it keeps (a recognition batch's output is up to 7 MB, most of which is
// read once and dropped).
func (s *session) run(input []float32, shape []int64, use func(tensor) error) error {
	l := s.lib
	var in uintptr
	if err := l.call(ortCreateTensorWithDataAsOrtValue, l.mem,
		ptr(&input[0]), uintptr(len(input)*4), ptr(&shape[0]), uintptr(len(shape)),
		ortTensorElementFloat, ptr(&in)); err != nil {
		return fmt.Errorf("ppocr: input tensor: %w", err)
	}
	defer l.release(ortReleaseValue, in)
	inNames := []uintptr{ptr(&s.inName[0])}
	outNames := []uintptr{ptr(&s.outName[0])}
	ins := []uintptr{in}
	outs := []uintptr{0}
	err := l.call(ortRun, s.h, s.runOpts, ptr(&inNames[0]), ptr(&ins[0]), 1, ptr(&outNames[0]), 1, ptr(&outs[0]))
	runtime.KeepAlive(input)
	runtime.KeepAlive(shape)
	runtime.KeepAlive(inNames)
	runtime.KeepAlive(outNames)
	runtime.KeepAlive(s)
	if err != nil {
		return fmt.Errorf("ppocr: run: %w", err)
	}
	out := outs[0]
	defer l.release(ortReleaseValue, out)

	var info uintptr
	if err := l.call(ortGetTensorTypeAndShape, out, ptr(&info)); err != nil {
		return err
	}
	defer l.release(ortReleaseTensorTypeAndShapeInfo, info)
	var n uintptr
	if err := l.call(ortGetDimensionsCount, info, ptr(&n)); err != nil {
		return err
	}
	if n == 0 || n > 8 {
		return fmt.Errorf("ppocr: output has %d dimensions", n)
	}
	dims := make([]int64, n)
	if err := l.call(ortGetDimensions, info, ptr(&dims[0]), n); err != nil {
		return err
	}
	size := int64(1)
	for _, d := range dims {
		if d <= 0 {
			return fmt.Errorf("ppocr: output shape %v", dims)
		}
		size *= d
	}
	var data uintptr
	if err := l.call(ortGetTensorMutableData, out, ptr(&data)); err != nil {
		return err
	}
	return use(tensor{shape: dims, data: unsafe.Slice((*float32)(cPointer(data)), size)})
}

// ptr passes the address of Go memory to C. The store to escapeSink
// (never done, but the compiler cannot know) moves whatever p points to
// to the heap: a goroutine's stack is moved when it grows, which can
// happen on the way into the call, and a stack address computed before it
// would then point at freed memory. Go's collector does not move heap
// objects; callers keep them alive for the length of the call.
func ptr[T any](p *T) uintptr {
	if neverTrue {
		escapeSink = p
	}
	return uintptr(unsafe.Pointer(p))
}

var (
	neverTrue  bool
	escapeSink any
)

func cString(s string) []byte { return append([]byte(s), 0) }

// goString copies a NUL-terminated C string.
func goString(p uintptr) string {
	if p == 0 {
		return ""
	}
	var n int
	for *(*byte)(cPointer(p + uintptr(n))) != 0 {
		n++
	}
	return string(unsafe.Slice((*byte)(cPointer(p)), n))
}

// cPointer turns an address that ONNX Runtime returned into a pointer.
// The memory is C's, outside the Go heap, so the collector neither moves
// nor frees it.
func cPointer(u uintptr) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(&u))
}
