/*
 * report_html.h - a run as one page people look at (`kbreed report`).
 *
 * One self-contained HTML file: the charts are inline SVG drawn here, hover
 * text is SVG <title>, and there is no script, font or stylesheet to fetch,
 * so the page opens offline, in a mail attachment or a CI artefact alike.
 * It shows the trajectory per round (the best so far against PyTorch eager,
 * torch.compile and the floor), every candidate as a point coloured by its
 * verdict, the winner's lineage with the idea on each edge, the ideas by
 * category, and the winner on the roofline.
 */
#ifndef KBREED_REPORT_HTML_H
#define KBREED_REPORT_HTML_H

#include <stdint.h>

/* Writes run's page to out_path (NULL: kbreed-out/<problem>-run<N>/report.html);
 * *written gets the path used (caller frees). Reads the store at db_path,
 * the problem's description (the bridge's cache) and the GPU's ceilings
 * as cached by the run (nothing is measured; without them the roofline
 * says so). Returns 0, or -1 reported. */
int report_html_write(const char *db_path, int64_t run, const char *out_path, char **written);

#endif
