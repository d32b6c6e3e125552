package extract

import (
	"context"
	"math"
	"os/exec"
	"strconv"
)

// DefaultToolMemory bounds the address space of pdftotext and tesseract:
// a hostile PDF or image can make either allocate without end, and the
// timeout alone would let it take the machine's memory first.
const DefaultToolMemory = 2 << 30

// toolCommand runs program under prlimit(1) with an address-space limit
// (Limits.ToolMemory) and a CPU-time limit (Limits.ToolCPU, else the
// timeout), so a tool that runs past them is stopped by the kernel (an
// allocation fails, or SIGXCPU/SIGKILL) besides the context's deadline.
// prlimit sets the limits on itself, then executes the tool, so there is
// no moment without them. Without prlimit (util-linux) on PATH the tool
// runs unlimited; a missing tool is run directly, so its error still says
// the tool is missing rather than blaming the document.
func (e *Engine) toolCommand(ctx context.Context, program string, args ...string) *exec.Cmd {
	_, noTool := exec.LookPath(program)
	if _, noPrlimit := exec.LookPath("prlimit"); noPrlimit != nil || noTool != nil {
		return exec.CommandContext(ctx, program, args...)
	}
	memory, cpu := e.limits.toolLimits()
	return exec.CommandContext(ctx, "prlimit", append([]string{
		"--as=" + strconv.FormatInt(memory, 10),
		"--cpu=" + strconv.Itoa(cpu),
		"--", program}, args...)...)
}

// toolLimits are the tools' address space in bytes and CPU time in whole
// seconds, defaults filled in.
func (l Limits) toolLimits() (memory int64, cpuSeconds int) {
	memory = l.ToolMemory
	if memory <= 0 {
		memory = DefaultToolMemory
	}
	cpu := l.ToolCPU
	if cpu <= 0 {
		cpu = l.Timeout
	}
	if cpu <= 0 {
		cpu = DefaultTimeout
	}
	return memory, max(1, int(math.Ceil(cpu.Seconds())))
}
