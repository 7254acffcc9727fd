/* test_report.c - verdicts against PyTorch and the roofline floor, and the
 * report and bench files as JSON. */
#include "testing.h"

#include "bridge.h"
#include "evaluate.h"
#include "report.h"
#include "util.h"

static const char *describe_json =
	"{\"name\": \"ln\", \"family\": \"norm\", \"notes\": \"n\", \"file_sha256\": \"ab\","
	" \"inputs\": [{\"name\": \"x\", \"dtype\": \"f32\", \"shape\": [4, 8]}],"
	" \"params\": [{\"name\": \"w\", \"dtype\": \"f32\", \"shape\": [8]}],"
	" \"outputs\": [{\"name\": \"out0\", \"dtype\": \"f16\", \"shape\": [4, 8]}],"
	" \"flops\": 1000, \"min_bytes\": 224}";

static void test_report_and_roofline(void **state)
{
	struct problem p;
	problem_init(&p);
	assert_int_equal(bridge_json_problem(describe_json, &p), 0);
	p.min_bytes = 3e9;   /* 1 ms at 3000 GB/s */
	p.flops = 0.5e12;    /* 0.5 ms at 1000 TFLOP/s */
	struct ceilings c = { .bandwidth_gbs = 3000, .fp32_tflops = 1000 };
	struct eval_opts o;
	eval_opts_defaults(&o);
	struct eval_result res;
	eval_result_init(&res);
	res.verdict = VERDICT_CORRECT;
	res.detail = xstrdup("fine \xff bytes");  /* not UTF-8: must still encode */
	res.timed = true;
	res.time = (struct timing){ 2.0, 1.9, 2.5, 30 };
	struct baseline b = { .eager = { 4.0, 3.9, 4.1, 30 } };
	struct eval_report rep = { .problem = &p, .candidate = "k.cu", .opts = &o, .result = &res,
				   .baseline = &b, .ceilings = &c };
	report_derive(&rep);
	assert_true(rep.roof.floor_ms > 0.99 && rep.roof.floor_ms < 1.01);
	assert_string_equal(rep.roof.bound, "memory");
	assert_true(rep.pct_eager > 199.9 && rep.pct_eager < 200.1);
	assert_true(rep.pct_floor > 49.9 && rep.pct_floor < 50.1);
	char *json = report_json(&rep);
	assert_non_null(strstr(json, "\"verdict\": \"correct\""));
	assert_non_null(strstr(json, "\"pct_eager\": 200"));
	assert_non_null(strstr(json, "\"bound\": \"memory\""));
	free(json);
	eval_result_release(&res);
	problem_release(&p);
}

static void test_fp32_floor_takes_3xtf32(void **state)
{
	/* An fp32 problem's arithmetic floor is at the fastest of the FP32
	 * units, a third of TF32 and a third of bf16 (3xTF32 and 3xBF16 keep
	 * the strict tolerance); fp16 keeps its own. */
	struct problem p;
	problem_init(&p);
	assert_int_equal(bridge_json_problem(describe_json, &p), 0);
	p.min_bytes = 3e9;  /* 1 ms at 3000 GB/s */
	p.flops = 100e9;    /* 2 ms at 50 TFLOP/s, 0.67 ms at 450 / 3 */
	struct ceilings c = { .bandwidth_gbs = 3000, .fp32_tflops = 50, .tf32_tflops = 450, .fp16_tflops = 800 };
	struct roofline r;
	roofline_compute(&p, &c, &r);
	assert_true(r.peak_tflops > 149.9 && r.peak_tflops < 150.1);
	assert_true(r.compute_ms > 0.66 && r.compute_ms < 0.67);
	assert_string_equal(r.bound, "memory");
	c.tf32_tflops = 120; /* a third of it below FP32: FP32 stands */
	roofline_compute(&p, &c, &r);
	assert_true(r.peak_tflops > 49.9 && r.peak_tflops < 50.1);
	assert_string_equal(r.bound, "compute");
	c.bf16_tflops = 900; /* 3xBF16: a third of it, above the others */
	roofline_compute(&p, &c, &r);
	assert_true(r.peak_tflops > 299.9 && r.peak_tflops < 300.1);
	assert_true(r.compute_ms > 0.33 && r.compute_ms < 0.34);
	c.tf32_tflops = 1200; /* and where a third of TF32 is higher still, that */
	roofline_compute(&p, &c, &r);
	assert_true(r.peak_tflops > 399.9 && r.peak_tflops < 400.1);
	p.inputs[0].dtype = KB_F16;
	c.tf32_tflops = 4500;
	roofline_compute(&p, &c, &r);
	assert_true(r.peak_tflops > 799.9 && r.peak_tflops < 800.1);
	problem_release(&p);
}

static void test_bench_json(void **state)
{
	/* A found kernel gives numbers (0 where not measured gives null) and its
	 * winner: template, knobs as an object (integers as numbers, other
	 * values as text, a bare name as null), idea and donor; a problem
	 * without one gives nulls; names that are not UTF-8 still encode; each
	 * problem's run is named (null when none was stored). */
	struct bench_row rows[3] = {
		{ .problem = "ln", .run = 7, .tolerance = "strict", .ok = true, .eager_ms = 4, .compile_ms = 0,
		  .best_ms = 2, .floor_ms = 1, .bound = "memory", .pct_eager = 200, .pct_compile = 0, .pct_floor = 50,
		  .round_found = 3, .pass_strict = true, .pass_crfm = true, .winner = 42,
		  .facts = { .template_name = xstrdup("gelu_vec"), .knobs = xstrdup("VEC=4 MODE=fast FLAG NEG=-2"),
			     .idea = xstrdup("use float4"), .donor_problem = xstrdup("mm"),
			     .donor_template = xstrdup("gemm_x"), .donor_seed = 5 } },
		{ .problem = "bad \xff", .tolerance = "crfm", .ok = false, .eager_ms = 4, .round_found = 2 },
		{ .problem = "naive", .run = 8, .tolerance = "strict", .ok = true, .eager_ms = 4, .best_ms = 4,
		  .pct_eager = 100, .winner = 1, .facts = { .template_name = xstrdup(""), .knobs = xstrdup("") } },
	};
	char *json = report_bench_json("H100", "2025-01-01", "kbreed bench", rows, 3);
	const char *want[] = {
		"\"gpu\": \"H100\"", "\"command\": \"kbreed bench\"",
		"\"problem\": \"ln\",\n      \"run\": 7,\n      \"tolerance\": \"strict\",\n      \"eager_ms\": 4.0,\n"
		"      \"compile_ms\": null,\n      \"best_ms\": 2.0,\n      \"floor_ms\": 1.0,\n"
		"      \"bound\": \"memory\",\n      \"pct_eager\": 200.0,\n"
		"      \"pct_compile\": null,\n      \"pct_floor\": 50.0,\n      \"round_found\": 3,\n"
		"      \"passes_strict\": true,\n      \"passes_crfm\": true,\n      \"winner\": 42,\n"
		"      \"template\": \"gelu_vec\",\n      \"knobs\": {\n        \"VEC\": 4,\n"
		"        \"MODE\": \"fast\",\n        \"FLAG\": null,\n        \"NEG\": -2\n      },\n"
		"      \"idea\": \"use float4\",\n      \"donor\": {\n        \"problem\": \"mm\",\n"
		"        \"template\": \"gemm_x\",\n        \"seed\": 5\n      }\n",
		"\"problem\": \"bad ?\",\n      \"run\": null,\n      \"tolerance\": \"crfm\",\n      \"eager_ms\": null,\n"
		"      \"compile_ms\": null,\n      \"best_ms\": null,\n      \"floor_ms\": null,\n"
		"      \"bound\": null,\n      \"pct_eager\": null,\n"
		"      \"pct_compile\": null,\n      \"pct_floor\": null,\n      \"round_found\": null,\n"
		"      \"passes_strict\": null,\n      \"passes_crfm\": null,\n      \"winner\": null,\n"
		"      \"template\": null,\n      \"knobs\": null,\n      \"idea\": null,\n      \"donor\": null\n",
		/* A hand-written winner with no floor known: no template, knobs or bound. */
		"\"problem\": \"naive\",", "\"winner\": 1,\n      \"template\": null,\n      \"knobs\": null,\n"
		"      \"idea\": null,\n      \"donor\": null\n",
	};
	for (size_t i = 0; i < sizeof want / sizeof *want; i++)
		if (!strstr(json, want[i]))
			fail_msg("no %s in\n%s", want[i], json);
	assert_null(strstr(strstr(json, "\"problem\": \"naive\""), "\"bound\": \"memory\""));
	free(json);
	for (int i = 0; i < 3; i++)
		winner_facts_release(&rows[i].facts);
	json = report_bench_json("g", "d", "c", NULL, 0);
	assert_non_null(strstr(json, "\"results\": []"));
	free(json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_report_and_roofline),
		cmocka_unit_test(test_fp32_floor_takes_3xtf32),
		cmocka_unit_test(test_bench_json),
	};
	return cmocka_run_group_tests_name("report", tests, NULL, NULL);
}
