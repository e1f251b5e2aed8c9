/* cmd_models.c — `mien models [--json]`: every model with its file, format, sha256,
 * inputs/outputs, parameters, multiply-adds, and provenance/licence notes. */
#include <inttypes.h>
#include <string.h>

#include "cli.h"

static void dims_text(FILE *f, const mien_tensor_info *t)
{
    fputc('[', f);
    for (int i = 0; i < t->rank; i++) {
        if (t->dims[i] < 0) {
            fprintf(f, "%s?", i ? "," : "");
        } else {
            fprintf(f, "%s%" PRId64, i ? "," : "", t->dims[i]);
        }
    }
    fputc(']', f);
}

static void tensor_json(FILE *f, const mien_tensor_info *t)
{
    fputs("{\"name\":", f);
    cli_json_string(f, t->name);
    fputs(",\"shape\":[", f);
    for (int i = 0; i < t->rank; i++) {
        fprintf(f, "%s%" PRId64, i ? "," : "", t->dims[i]);
    }
    fputs("],\"layout\":", f);
    cli_json_string(f, t->layout);
    fputc('}', f);
}

static void print_json(const mien_model_info *m)
{
    printf("{\"model\":");
    cli_json_string(stdout, m->name);
    printf(",\"file\":");
    cli_json_string(stdout, m->file);
    printf(",\"format\":");
    cli_json_string(stdout, m->format);
    printf(",\"sha256\":");
    cli_json_string(stdout, m->sha256);
    printf(",\"role\":");
    cli_json_string(stdout, m->role);
    printf(",\"inputs\":[");
    for (int i = 0; i < m->n_inputs; i++) {
        if (i) {
            putchar(',');
        }
        tensor_json(stdout, &m->inputs[i]);
    }
    printf("],\"outputs\":[");
    for (int i = 0; i < m->n_outputs; i++) {
        if (i) {
            putchar(',');
        }
        tensor_json(stdout, &m->outputs[i]);
    }
    printf("],\"parameters\":%" PRId64 ",\"macs\":%" PRId64 ",\"nodes\":%d,\"package\":",
           m->parameters, m->macs, m->n_nodes);
    cli_json_string(stdout, m->package);
    printf(",\"provenance\":");
    cli_json_string(stdout, m->provenance);
    printf(",");
    cli_kernels_json(stdout, m);
    printf("}\n");
}

static void print_text(const mien_model_info *m)
{
    printf("%s  (%s, %s)\n", m->name, m->file, m->format);
    printf("  role        %s\n", m->role);
    printf("  sha256      %s\n", m->sha256);
    for (int i = 0; i < m->n_inputs; i++) {
        printf("  input       %s ", m->inputs[i].name);
        dims_text(stdout, &m->inputs[i]);
        printf(" %s\n", m->inputs[i].layout);
    }
    for (int i = 0; i < m->n_outputs; i++) {
        printf("  output      %s ", m->outputs[i].name);
        dims_text(stdout, &m->outputs[i]);
        printf(" %s\n", m->outputs[i].layout);
    }
    printf("  parameters  %.2f M\n", (double)m->parameters / 1e6);
    printf("  mult-adds   %.1f M at ", (double)m->macs / 1e6);
    {
        mien_tensor_info b = {.rank = m->bench_rank};
        memcpy(b.dims, m->bench_dims, sizeof(b.dims));
        dims_text(stdout, &b);
    }
    printf("\n  kernels     %d steps on oneDNN %s, mien's own at %s; %d on reference kernels%s%s\n",
           m->steps, m->backend_isa, mien_isa_name(mien_isa_active()), m->ref_steps,
           m->ref_steps ? ": " : "", m->ref_kernels);
    printf("  package     %s\n", m->package);
    printf("  provenance  %s\n\n", m->provenance);
}

int cli_cmd_models(int argc, char **argv)
{
    static const cli_opt opts[] = {CLI_OPT_INCLUDE(cli_common_opts, 0), CLI_OPT_END};
    static const cli_command cmd = {"models", "models [--models DIR] [--json]", opts, 0, 0};
    cli_common c = {.threads = 1};
    mien_engine *engine = NULL;
    int n_args, rc = cli_parse(&cmd, argc, argv, &c, &n_args);
    if (rc != CLI_PARSED) {
        return rc;
    }
    if (cli_open_engine(&c, &engine) != MIEN_OK) {
        return CLI_EXIT_FAIL;
    }
    for (size_t i = 0; i < mien_engine_model_count(engine); i++) {
        mien_model_info info;
        if (mien_engine_model_info(engine, i, &info) != MIEN_OK) {
            continue;
        }
        if (c.json) {
            print_json(&info);
        } else {
            print_text(&info);
        }
    }
    mien_engine_free(engine);
    return CLI_EXIT_OK;
}
