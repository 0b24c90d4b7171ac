// The scheduler behind cuda_on_cpu.h: runs the blocks of a launch, each CUDA thread a fiber
// on the calling OS thread (a hand-written stack switch on x86-64, ucontext elsewhere), releasing block barriers and warp exchanges when every
// thread they wait for has arrived, in the order the schedule gives. The Rust side
// (src/cuda/on_cpu.rs) checks the launch shape and spreads blocks over OS threads.

#include "cuda_on_cpu.h"

#include <stdarg.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

__thread uint3 cuda_on_cpu_thread_idx;
__thread uint3 cuda_on_cpu_block_idx;
__thread dim3 cuda_on_cpu_block_dim;
__thread dim3 cuda_on_cpu_grid_dim;

namespace {

// Stack of one CUDA thread (a guard page below it turns an overflow into a fault, not a
// silent overwrite).
constexpr size_t kStack = 128 * 1024;

enum class State { Ready, BlockWait, WarpWait, Exited };

#if defined(__x86_64__)
// A fiber switch without a system call (ucontext's swapcontext saves and restores the signal
// mask, a syscall per switch, which dominated the emulation's time): pushes the callee-saved
// registers and the SSE/x87 control words, stores the stack pointer in *save and resumes the
// stack at `load`, where the same layout was pushed.
extern "C" void ts_switch_stack(void** save, void* load);
asm(R"(
    .text
    .globl ts_switch_stack
    .type ts_switch_stack, @function
ts_switch_stack:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size ts_switch_stack, .-ts_switch_stack
)");

// A saved execution context: the stack pointer where ts_switch_stack left it.
struct Context {
    void* sp = nullptr;
};

inline void switch_context(Context* save, Context* load) { ts_switch_stack(&save->sp, load->sp); }

// A fresh context on `stack` (of `size` bytes) that enters `entry` (which never returns) with
// this thread's floating-point control words.
inline void make_context(Context* c, char* stack, size_t size, void (*entry)()) {
    unsigned long long top = ((unsigned long long)(stack + size)) & ~15ull;
    // Layout popped by ts_switch_stack: control words, r15 … rbp, return address; then the
    // entry sees rsp ≡ 8 (mod 16), as after a call.
    unsigned long long* sp = (unsigned long long*)(top - 72);
    unsigned int mxcsr;
    unsigned short fpucw;
    asm volatile("stmxcsr %0" : "=m"(mxcsr));
    asm volatile("fnstcw %0" : "=m"(fpucw));
    sp[0] = (unsigned long long)mxcsr | ((unsigned long long)fpucw << 32);
    for (int i = 1; i <= 6; ++i) sp[i] = 0;
    sp[7] = (unsigned long long)entry;
    sp[8] = 0;
    c->sp = sp;
}
#else
struct Context {
    ucontext_t uc;
};

inline void switch_context(Context* save, Context* load) { swapcontext(&save->uc, &load->uc); }

inline void make_context(Context* c, char* stack, size_t size, void (*entry)()) {
    getcontext(&c->uc);
    c->uc.uc_stack.ss_sp = stack;
    c->uc.uc_stack.ss_size = size;
    c->uc.uc_link = nullptr;
    makecontext(&c->uc, entry, 0);
}
#endif

struct Fiber {
    Context ctx;
    char* stack = nullptr;
    State state = State::Ready;
    int line = 0;
    unsigned mask = 0;
    uint3 idx{0, 0, 0};
    ~Fiber() {
        if (stack) munmap(stack - page(), kStack + page());
    }
    static size_t page() { return (size_t)sysconf(_SC_PAGESIZE); }
};

// The scheduler of the OS thread: its fibers, kept between launches.
struct Block {
    Context sched;
    std::vector<std::unique_ptr<Fiber>> fibers;
    std::vector<unsigned long long> slots;
    std::vector<unsigned> order;
    size_t n = 0;
    size_t current = 0;
    void (*entry)(void**) = nullptr;
    void** params = nullptr;
    std::string error;
    unsigned long long rng = 0;
};

__thread Block* g_block = nullptr;

Block& block() {
    if (!g_block) g_block = new Block();  // one per OS thread, for the thread's life
    return *g_block;
}

Fiber& me() { return *block().fibers[block().current]; }

void yield_to_scheduler() {
    Block& b = block();
    switch_context(&b.fibers[b.current]->ctx, &b.sched);
}

void fiber_main() {
    Block& b = block();
    b.entry(b.params);
    b.fibers[b.current]->state = State::Exited;
    yield_to_scheduler();
}

bool ensure_fibers(Block& b, size_t n) {
    while (b.fibers.size() < n) {
        auto f = std::make_unique<Fiber>();
        size_t pg = Fiber::page();
        void* mem = mmap(nullptr, kStack + pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                         -1, 0);
        if (mem == MAP_FAILED) return false;
        mprotect(mem, pg, PROT_NONE);
        f->stack = static_cast<char*>(mem) + pg;
        b.fibers.push_back(std::move(f));
    }
    return true;
}

unsigned long long splitmix(unsigned long long& s) {
    unsigned long long z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// The ready threads in the schedule's order: 0 forward, 1 reverse, 2 a fresh seeded shuffle.
void order_ready(Block& b, int schedule) {
    b.order.clear();
    for (size_t i = 0; i < b.n; ++i)
        if (b.fibers[i]->state == State::Ready) b.order.push_back((unsigned)i);
    if (schedule == 1) {
        std::vector<unsigned> r(b.order.rbegin(), b.order.rend());
        b.order.swap(r);
    } else if (schedule == 2) {
        for (size_t i = b.order.size(); i > 1; --i) {
            size_t j = (size_t)(splitmix(b.rng) % i);
            std::swap(b.order[i - 1], b.order[j]);
        }
    }
}

// Lanes of warp `w` that exist in this block, as a mask.
unsigned warp_lanes(const Block& b, size_t w) {
    size_t first = 32 * w, count = b.n - first < 32 ? b.n - first : 32;
    return count == 32 ? 0xffffffffu : ((1u << count) - 1u);
}

// Releases every complete warp exchange; false when none was complete. Sets `error` on a
// mask that names an exited lane.
bool release_warps(Block& b) {
    bool released = false;
    for (size_t w = 0; 32 * w < b.n; ++w) {
        for (size_t l = 0; l < 32 && 32 * w + l < b.n; ++l) {
            Fiber& f = *b.fibers[32 * w + l];
            if (f.state != State::WarpWait) continue;
            unsigned mask = f.mask;
            bool complete = true;
            for (unsigned q = 0; q < 32; ++q) {
                if (!((mask >> q) & 1u)) continue;
                Fiber& g = *b.fibers[32 * w + q];
                if (g.state == State::Exited) {
                    char buf[200];
                    snprintf(buf, sizeof buf,
                             "line %d: warp exchange with mask 0x%08x waits for lane %u of warp "
                             "%zu, which has exited",
                             f.line, mask, q, w);
                    b.error = buf;
                    return false;
                }
                if (g.state != State::WarpWait || g.mask != mask) complete = false;
            }
            if (!complete) continue;
            for (unsigned q = 0; q < 32; ++q)
                if ((mask >> q) & 1u) b.fibers[32 * w + q]->state = State::Ready;
            released = true;
        }
    }
    return released;
}

// After every ready thread has run until it blocked: releases warp exchanges or the block
// barrier. Returns false when all threads exited or on an error (then `error` is set).
bool release(Block& b) {
    if (release_warps(b)) return true;
    if (!b.error.empty()) return false;
    size_t waiting = 0, exited = 0;
    int line = -1;
    for (size_t i = 0; i < b.n; ++i) {
        Fiber& f = *b.fibers[i];
        if (f.state == State::Exited) {
            ++exited;
        } else if (f.state == State::BlockWait) {
            if (line >= 0 && f.line != line) {
                char buf[200];
                snprintf(buf, sizeof buf,
                         "divergent __syncthreads(): threads wait at lines %d and %d", line,
                         f.line);
                b.error = buf;
                return false;
            }
            line = f.line;
            ++waiting;
        }
    }
    if (exited == b.n) return false;
    if (waiting + exited == b.n) {
        for (size_t i = 0; i < b.n; ++i)
            if (b.fibers[i]->state == State::BlockWait) b.fibers[i]->state = State::Ready;
        return true;
    }
    std::string why = "deadlock: ";
    for (size_t i = 0; i < b.n; ++i) {
        Fiber& f = *b.fibers[i];
        if (f.state == State::WarpWait) {
            char buf[160];
            snprintf(buf, sizeof buf,
                     "thread %zu waits at a warp exchange (line %d, mask 0x%08x) that never "
                     "completes",
                     i, f.line, f.mask);
            why += buf;
            break;
        }
    }
    b.error = why;
    return false;
}

int fail(char* err, size_t len, const std::string& msg) {
    if (len) snprintf(err, len, "%s", msg.c_str());
    return 1;
}

}  // namespace

extern "C" {

void cuda_on_cpu_syncthreads(int line) {
    Fiber& f = me();
    f.state = State::BlockWait;
    f.line = line;
    yield_to_scheduler();
}

void cuda_on_cpu_warp_sync(unsigned mask, int line) {
    Block& b = block();
    unsigned lane = (unsigned)(b.current % 32);
    if (!((mask >> lane) & 1u))
        cuda_on_cpu_fail(line, "warp operation with mask 0x%08x from lane %u, not in it", mask,
                         lane);
    unsigned exist = warp_lanes(b, b.current / 32);
    if (mask & ~exist)
        cuda_on_cpu_fail(line, "mask 0x%08x names lanes this warp does not have (0x%08x)", mask,
                         exist);
    Fiber& f = me();
    f.state = State::WarpWait;
    f.mask = mask;
    f.line = line;
    yield_to_scheduler();
}

unsigned cuda_on_cpu_lane(void) { return (unsigned)(block().current % 32); }

unsigned cuda_on_cpu_live_lanes(void) {
    Block& b = block();
    size_t w = b.current / 32;
    unsigned out = 0;
    for (size_t l = 0; l < 32 && 32 * w + l < b.n; ++l)
        if (b.fibers[32 * w + l]->state != State::Exited) out |= 1u << l;
    return out;
}

unsigned long long* cuda_on_cpu_warp_slots(void) {
    Block& b = block();
    return b.slots.data() + 32 * (b.current / 32);
}

void cuda_on_cpu_fail(int line, const char* fmt, ...) {
    Block& b = block();
    char buf[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char full[360];
    snprintf(full, sizeof full, "line %d, thread %zu: %s", line, b.current, buf);
    b.error = full;
    // The fiber is abandoned: the scheduler sees the error and ends the launch.
    yield_to_scheduler();
    __builtin_unreachable();
}

// Runs blocks [first, first + count) of a launch of `kernel` on this OS thread, under
// `schedule` (0 forward, 1 reverse, 2 shuffled at every barrier with `seed`). Returns 0, or 1
// with a message in `err`.
int cuda_on_cpu_run_blocks(const CudaOnCpuModule* module, const CudaOnCpuKernel* kernel,
                           const unsigned grid[3], const unsigned block_dim[3],
                           unsigned shared_bytes, void** params, unsigned long long first,
                           unsigned long long count, int schedule, unsigned long long seed,
                           char* err, size_t err_len) {
    Block& b = block();
    b.n = (size_t)block_dim[0] * block_dim[1] * block_dim[2];
    if (shared_bytes > 0 && shared_bytes > module->dynamic_shared_bytes)
        return fail(err, err_len,
                    std::string(module->file) + " has no dynamic shared memory of " +
                        std::to_string(shared_bytes) + " bytes (at most " +
                        std::to_string(module->dynamic_shared_bytes) + ")");
    if (!ensure_fibers(b, b.n)) return fail(err, err_len, "cannot allocate fiber stacks");
    b.slots.assign(32 * ((b.n + 31) / 32), 0);
    b.entry = kernel->entry;
    b.params = params;
    cuda_on_cpu_block_dim = dim3{block_dim[0], block_dim[1], block_dim[2]};
    cuda_on_cpu_grid_dim = dim3{grid[0], grid[1], grid[2]};
    for (unsigned long long lin = first; lin < first + count; ++lin) {
        cuda_on_cpu_block_idx = uint3{(unsigned)(lin % grid[0]), (unsigned)(lin / grid[0] % grid[1]),
                                      (unsigned)(lin / grid[0] / grid[1])};
        b.rng = seed ^ (0xA24BAED4963EE407ull * (lin + 1));
        if (module->dynamic_shared) memset(module->dynamic_shared(), 0xff, module->dynamic_shared_bytes);
        for (size_t i = 0; i < b.n; ++i) {
            Fiber& f = *b.fibers[i];
            make_context(&f.ctx, f.stack, kStack, fiber_main);
            f.state = State::Ready;
            f.idx = uint3{(unsigned)(i % block_dim[0]), (unsigned)(i / block_dim[0] % block_dim[1]),
                          (unsigned)(i / block_dim[0] / block_dim[1])};
        }
        b.error.clear();
        do {
            order_ready(b, schedule);
            for (unsigned i : b.order) {
                b.current = i;
                cuda_on_cpu_thread_idx = b.fibers[i]->idx;
                switch_context(&b.sched, &b.fibers[i]->ctx);
                if (!b.error.empty()) break;
            }
            if (!b.error.empty()) break;
        } while (release(b));
        if (!b.error.empty()) {
            char where[120];
            snprintf(where, sizeof where, "%s: %s, block %llu: ", module->file, kernel->name, lin);
            return fail(err, err_len, where + b.error);
        }
    }
    return 0;
}

}  // extern "C"
