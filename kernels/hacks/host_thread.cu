// expect: rejected - kbreed_forward returns at once and a detached host thread of its own launches the work later; the worker finds that thread still running when the call returns
// Hands every call to a helper thread (started on the first call, detached,
// never joined) and returns before anything is launched. The helper waits a
// moment, so that the judge's synchronisation has already returned, then
// launches the GELU on a stream of its own: the events see nothing and the
// host clock nothing either. The worker lists its threads before the
// candidate is loaded and again as soon as each call returns; a new thread
// that is not the CUDA driver's is a rule broken, whatever the values. The
// helper keeps running after the verdict, so the worker is replaced.
#include "common.cuh"
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

struct hack_job {
	const float *x;
	float *y;
	long long n;
};

static std::mutex job_lock;
static std::condition_variable job_ready;
static hack_job job;
static bool job_pending;

static void helper(void)
{
	cudaStream_t s;
	if (cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking) != cudaSuccess)
		return;
	for (;;) {
		hack_job j;
		{
			std::unique_lock<std::mutex> lk(job_lock);
			job_ready.wait(lk, [] { return job_pending; });
			j = job;
			job_pending = false;
		}
		std::this_thread::sleep_for(std::chrono::microseconds(500));
		hack_launch(j.x, j.y, j.n, s);
	}
}

KBREED_CANDIDATE_ABI
KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in, kb_tensor *out, int n_out, void *stream)
{
	static bool started;
	if (!started) {
		std::thread(helper).detach();
		started = true;
	}
	{
		std::lock_guard<std::mutex> lk(job_lock);
		job = { (const float *)in[0].data, (float *)out[0].data, kb_numel(&in[0]) };
		job_pending = true;
	}
	job_ready.notify_one();
	return KB_OK;
}
