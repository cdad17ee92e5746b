/* SPDX-License-Identifier: MIT */
/*
 * The capture loop: ring buffer -> assembler -> checks -> writer, with the
 * status line and the exit summary. Every record that cannot be delivered is
 * counted; the summary says so.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "assemble.h"
#include "attached_note.h"
#include "exec_watch_ahead.h"
#include "ring_reader.h"
#include "backpressure.h"
#include "caps.h"
#include "capture.h"
#include "collect.h"
#include "fields.h"
#include "keylog.h"
#include "log.h"
#include "outfile.h"
#include "output.h"
#include "reach_watch.h"
#include "stream.h"
#include "procname.h"
#include "pcapng_output.h"
#include "wire.h"
#include "wire_output.h"

/* The longest a lone record waits before it is written. */
#define POLL_INTERVAL_MS 50

/*
 * Above the traced programs: on a busy machine the reader must not wait for
 * a CPU while the ring fills (bench P2). Threads started later (the output's
 * writer) inherit it. Needs CAP_SYS_NICE; without it the default stays.
 */
#define READER_NICE (-20)

static void raise_reader_priority(void)
{
	if (setpriority(PRIO_PROCESS, 0, READER_NICE) != 0)
		ps_debug("reader priority left as it was: setpriority: %s", strerror(errno));
}

/* Set by the signal handler: the one piece of state a handler may touch. */
static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void install_signal_handlers(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	/*
	 * poll and epoll_wait return on a signal whatever the flags, so the loop
	 * sees the request; SA_RESTART resumes a write to a slow pipe instead of
	 * failing it with EINTR, so what was captured still reaches the reader.
	 * A second signal, with the handler reset, stops at once: a reader that
	 * never reads again cannot hold plainsight.
	 */
	sa.sa_flags = SA_RESTART | SA_RESETHAND;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

struct capture {
	const struct ps_options *opts;
	const struct ps_plan *plan;
	struct ps_writer *writer;
	struct ps_writer *keylog;   /* -k FILE beside text or json output; NULL: none */
	struct ps_keylog *secrets_seen; /* secrets delivered so far, per connection: repeats go */
	struct ps_pcapng_output *pcapng; /* -m pcapng: instead of writer */
	struct ps_wire_output *wire;     /* --from wire: the records come from packets, to writer */
	struct ps_assembler *assembler;
	struct ps_collect *collect;    /* buffering, joining and filters of the spec */
	struct ps_procnames *names;    /* process names by pid */
	struct ps_counters counters;
	int write_error;            /* first output error, negative errno */
	bool warned_mismatch;
	struct ps_reach_watch *reach; /* what the module cannot see; NULL: not looked for */
	struct ps_stream *stream;   /* the live outputs (stream.h); NULL: none */
};

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* `check` fields: offsets are trusted only while they agree with the kernel. */
static void run_checks(struct capture *cap, const struct ps_record *rec)
{
	const struct ps_event_desc *event = rec->event;

	for (uint32_t i = 0; i < event->n_fields; i++) {
		const struct ps_field_desc *field = &event->fields[i];
		const struct ps_field_desc *ref;
		int64_t value, expected;

		if (field->check_field < 0)
			continue;
		ref = &event->fields[field->check_field];
		if (ps_field_int(field, rec, &value) || ps_field_int(ref, rec, &expected) || expected < 0)
			continue;
		if (value == expected)
			continue;
		cap->counters.check_mismatch++;
		if (cap->warned_mismatch)
			continue;
		cap->warned_mismatch = true;
		ps_warn("%s: %s=%lld but %s=%lld (pid %u): the offsets of layout '%s' do not fit this binary; "
			"offset-based values are not to be trusted",
			rec->module->name, field->name, (long long)value, ref->name, (long long)expected,
			ps_record_header(rec)->pid, cap->plan->layout ? cap->plan->layout->name : "none");
	}
}

static void write_record(struct capture *cap, const struct ps_record *rec);

static void count_unwritten(struct capture *cap, const struct ps_record *rec)
{
	cap->counters.write_errors++;
	cap->counters.unwritten_bytes += rec->data_len;
}

/*
 * A record without the fields the plan's trust decision leaves out (they
 * read offsets no accessor confirms in a contradicted layout): their present
 * bits are cleared in a copy.
 */
static void write_trimmed(struct capture *cap, const struct ps_record *rec, uint32_t drop)
{
	struct ps_record copy = *rec;
	struct ps_event_header *header;
	void *fixed = malloc(rec->event->fixed_size);

	if (!fixed) {
		/* a record not written is counted; a record with an untrusted field is never written */
		count_unwritten(cap, rec);
		return;
	}
	memcpy(fixed, rec->fixed, rec->event->fixed_size);
	header = fixed;
	header->present &= ~drop;
	copy.fixed = fixed;
	if (ps_keylog_is_secrets_event(rec->event))
		cap->counters.secrets_dropped++;
	write_record(cap, &copy);
	free(fixed);
}

static void deliver_record(const struct ps_record *rec, void *arg)
{
	struct capture *cap = arg;
	uint32_t e = (uint32_t)(rec->event - rec->module->events), drop;

	run_checks(cap, rec);
	switch (ps_trust_record(&cap->plan->trust, rec->event, e, ps_record_header(rec)->present, &drop)) {
	case PS_RECORD_WRITE:
		write_record(cap, rec);
		break;
	case PS_RECORD_TRIM:
		write_trimmed(cap, rec, drop);
		break;
	case PS_RECORD_REFUSE:
		if (ps_keylog_is_secrets_event(rec->event))
			cap->counters.secrets_dropped++;
		break;
	}
}

/*
 * A pipe whose reader went away (`plainsight tls | head -c 200`) is the
 * reader's way to say it has enough: capture stops as on SIGINT, with the
 * summary on stderr, and the exit status is 0. Any other failure is an error.
 */
static void output_failed(struct capture *cap, int err)
{
	const char *where = cap->opts->output_path ? cap->opts->output_path : "stdout";

	cap->write_error = err;
	if (err == -EPIPE)
		ps_info("the reader of %s went away (broken pipe); stopping", where);
	else
		ps_error("cannot write %s%s: %s; stopping (what was written before stays)",
			 cap->opts->output_path ? "" : "to ", where, strerror(-err));
}

/*
 * Secrets go only where they were asked for (-k, -m keylog, --secrets), and
 * once per connection: a record that brings none not delivered before is
 * dropped, whichever thread emitted it.
 */
static void write_secrets(struct capture *cap, const struct ps_record *rec)
{
	struct ps_secrets secrets;
	int written, err;

	if (ps_secrets_from_record(rec, &secrets) != 0 || !ps_keylog_take_new(cap->secrets_seen, &secrets))
		return;
	if (cap->wire)
		ps_wire_output_secrets(cap->wire, &secrets);
	if (cap->write_error) {
		cap->counters.write_errors++;
		return;
	}
	written = cap->pcapng ? ps_pcapng_output_record(cap->pcapng, rec) : ps_writer_secrets(cap->writer, rec, &secrets);
	if (written < 0) {
		cap->counters.write_errors++;
		if (cap->pcapng)
			cap->write_error = written; /* it said what failed */
		else
			output_failed(cap, written);
		return;
	}
	if (cap->keylog && (err = ps_writer_secrets(cap->keylog, rec, &secrets)) < 0) {
		ps_error("cannot write %s: %s; stopping", cap->opts->keylog_path, strerror(-err));
		cap->write_error = err;
	}
	cap->counters.records += (uint64_t)written;
}

static void write_record(struct capture *cap, const struct ps_record *traced)
{
	const struct ps_event_header *hdr = ps_record_header(traced);
	struct ps_record named = *traced;
	const struct ps_record *rec = &named;
	int err;

	/* records from the wire are named by their socket's owner already */
	if (!named.process_name)
		named.process_name = ps_procname(cap->names, hdr->pid, hdr->comm);
	if (ps_keylog_is_secrets_event(rec->event)) {
		write_secrets(cap, rec);
		return;
	}
	/* the packets carry the data in pcapng mode: the kernel sends no data events then (probes.c) */
	if (cap->pcapng)
		return;
	if (cap->write_error) {
		count_unwritten(cap, rec);
		return;
	}
	ps_stream_record(cap->stream, rec);
	err = ps_writer_record(cap->writer, rec);
	if (err) {
		count_unwritten(cap, rec);
		output_failed(cap, err);
		return;
	}
	/* keylog mode writes no data records: they are not counted as written */
	if (cap->opts->output.mode == PS_OUTPUT_KEYLOG)
		return;
	cap->counters.records++;
	cap->counters.bytes += rec->data_len;
}

/* --from wire: a record decrypted from packets, written as a traced call's would be. */
static void on_wire_record(void *arg, const struct ps_record *rec)
{
	write_record(arg, rec);
}

/*
 * -m pcapng with --ecaptureq: the file (or --eventaddr) gets the packets,
 * eCaptureQ the plaintext decrypted from the same packets with the secrets
 * the probes found; no record is written.
 */
static void on_pcapng_wire_record(void *arg, const struct ps_record *rec)
{
	struct capture *cap = arg;

	ps_stream_record(cap->stream, rec);
}

static void debug_pcapng_decryption(struct ps_wire_output *wire)
{
	struct ps_counters c = { 0 };
	unsigned long long undecryptable = 0;

	ps_wire_output_counters(wire, &c);
	for (int i = 0; i < PS_WIRE_CAUSES; i++)
		undecryptable += c.wire_undecryptable[i];
	ps_debug("ecaptureq (pcapng mode): %llu connections in the packets (%llu not TLS), %llu records "
		 "undecryptable", (unsigned long long)c.wire_connections, (unsigned long long)c.wire_not_tls,
		 undecryptable);
}

static void on_pcapng_packet(void *arg, int linktype, const uint8_t *frame, size_t len, uint64_t wall_ns)
{
	ps_wire_output_frame(arg, linktype, frame, len, wall_ns);
}

static void on_record(const struct ps_record *rec, void *arg)
{
	struct capture *cap = arg;

	ps_collect_record(cap->collect, rec, deliver_record, cap);
}

static int on_ring_record(void *ctx, void *data, size_t size)
{
	struct capture *cap = ctx;

	ps_assembler_push(cap->assembler, data, size);
	/* a non-zero return makes ring_buffer__poll stop and return it */
	return cap->write_error ? cap->write_error : 0;
}

/*
 * A file's records are counted as written once formatted; its writer thread
 * writes them later. Those that a failure (a disk that filled) kept from the
 * file move to the records not written.
 */
static int close_writer(struct capture *cap)
{
	struct ps_unwritten unwritten;
	int err = ps_writer_close_counted(cap->writer, &unwritten);

	cap->counters.records -= unwritten.records;
	cap->counters.bytes -= unwritten.data_bytes;
	cap->counters.write_errors += unwritten.records;
	cap->counters.unwritten_bytes += unwritten.data_bytes;
	if (unwritten.unknown)
		ps_error("out of memory: some of the records counted as written may not be in the file");
	return err;
}

static bool anything_lost(const struct ps_counters *c)
{
	return ps_counters_lost_bytes(c) || ps_counters_lost_records(c) || ps_counters_incomplete_calls(c);
}

static void print_packet_status(struct capture *cap)
{
	const struct ps_counters *c = &cap->counters;

	ps_pcapng_output_counters(cap->pcapng, &cap->counters);
	fprintf(stderr, "; %llu packets, %.1f MiB, %llu dropped, %llu secrets", (unsigned long long)c->packets,
		c->packet_bytes / 1048576.0, (unsigned long long)c->packets_dropped,
		(unsigned long long)c->secrets_written);
}

static void print_wire_status(struct capture *cap)
{
	const struct ps_counters *c = &cap->counters;
	uint64_t undecryptable = 0;

	ps_wire_output_counters(cap->wire, &cap->counters);
	for (int i = 0; i < PS_WIRE_CAUSES; i++)
		undecryptable += c->wire_undecryptable[i];
	fprintf(stderr, "; %llu packets, %llu gaps, %llu records undecryptable", (unsigned long long)c->wire_packets,
		(unsigned long long)c->wire_gaps, (unsigned long long)undecryptable);
}

static void print_status(struct capture *cap, const struct ps_probes *probes, uint64_t elapsed_ns, bool final)
{
	double seconds = elapsed_ns / 1e9;

	ps_probes_read_loss(probes, cap->counters.kernel_loss);
	cap->counters.kernel_missed = ps_probes_missed_runs(probes);
	fprintf(stderr, "\rplainsight: %u target%s, %llu records (%.0f/s), %.1f MiB captured, %.1f MiB lost",
		ps_reach_watch_targets(cap->reach, false), ps_reach_watch_targets(cap->reach, false) == 1 ? "" : "s",
		(unsigned long long)cap->counters.records, seconds > 0 ? cap->counters.records / seconds : 0.0,
		cap->counters.bytes / 1048576.0, ps_counters_lost_bytes(&cap->counters) / 1048576.0);
	if (cap->pcapng)
		print_packet_status(cap);
	else if (cap->wire)
		print_wire_status(cap);
	ps_stream_status(cap->stream, stderr);
	fputs(final ? "\n" : "   ", stderr);
	fflush(stderr);
}

static void print_packet_summary(const struct ps_counters *c)
{
	ps_info("pcapng: %llu packets (%llu bytes) written, %llu dropped by the kernel capture (its ring was full), "
		"%llu not written; %llu secrets written; %llu packets with no process known, "
		"%llu of other processes left out", (unsigned long long)c->packets,
		(unsigned long long)c->packet_bytes, (unsigned long long)c->packets_dropped,
		(unsigned long long)c->packets_unwritten, (unsigned long long)c->secrets_written,
		(unsigned long long)c->packets_unattributed, (unsigned long long)c->packets_other_processes);
}

static void print_wire_summary(const struct ps_counters *c)
{
	char causes[512] = "";
	size_t n = 0;

	for (int i = 0; i < PS_WIRE_CAUSES && n < sizeof(causes); i++)
		n += (size_t)snprintf(causes + n, sizeof(causes) - n, "%s%llu %s", i ? ", " : "",
				      (unsigned long long)c->wire_undecryptable[i], ps_wire_cause_name(i));
	ps_info("wire: %llu packets (%llu dropped by the kernel capture, %llu with the packet backlog full (raise "
		"--mapsize, or --lossless)), %llu connections (%llu not TLS), %llu gaps "
		"(%llu bytes never captured); records undecryptable: %s; %llu records with no process known, "
		"%llu of other processes left out", (unsigned long long)c->wire_packets,
		(unsigned long long)c->packets_dropped, (unsigned long long)c->packets_backlog_full,
		(unsigned long long)c->wire_connections,
		(unsigned long long)c->wire_not_tls,
		(unsigned long long)c->wire_gaps, (unsigned long long)c->wire_gap_bytes, causes,
		(unsigned long long)c->packets_unattributed, (unsigned long long)c->packets_other_processes);
}

static void print_summary(const struct ps_counters *c, bool packets)
{
	const uint64_t *k = c->kernel_loss;

	if (packets)
		print_packet_summary(c);
	if (c->wire)
		print_wire_summary(c);

	ps_info("stopped: %llu records, %llu bytes captured, %llu bytes lost (%llu records, %llu calls incomplete)",
		(unsigned long long)c->records, (unsigned long long)c->bytes,
		(unsigned long long)ps_counters_lost_bytes(c), (unsigned long long)ps_counters_lost_records(c),
		(unsigned long long)ps_counters_incomplete_calls(c));
	if (c->keys_refused)
		ps_info("keys refused: %llu secrets records written without the fields no accessor confirms, or not at all "
			"(the library's accessors contradict the layout)", (unsigned long long)c->secrets_dropped);
	/*
	 * Not counted as lost: a call already running when another tracer's
	 * uretprobe sat on the same function returns through ours without our
	 * entry. A call nested in itself lands here too, so it is still said.
	 */
	if (c->held_back)
		ps_info("--lossless: traced processes were stopped %llu times while the ring drained",
			(unsigned long long)c->held_back);
	if (c->interrupted_calls)
		ps_info("%llu calls interrupted: their thread ended inside them (killed, or exit or exec on another "
			"thread), or a panic unwound them (Go); what of their data had passed is not known",
			(unsigned long long)c->interrupted_calls);
	if (k[PS_LOSS_NO_ENTRY])
		ps_info("%llu returns without their entry (calls begun before attaching, or nested in themselves)",
			(unsigned long long)k[PS_LOSS_NO_ENTRY]);
	if (!anything_lost(c) && !c->check_mismatch)
		return;
	ps_info("lost: %llu ring-buffer records (%llu bytes) with no room (raise --mapsize), %llu bytes unreadable, "
		"%llu bytes over the per-call limit, %llu bytes of records not written (%llu records), "
		"%llu calls with no state slot, %llu incomplete calls, %llu malformed records, "
		"%llu probe runs the kernel skipped, %llu buffered records never collected; %llu check mismatches; "
		"%llu of the lost bytes are marked as gaps in the records",
		(unsigned long long)k[PS_LOSS_RINGBUF_EVENTS], (unsigned long long)k[PS_LOSS_RINGBUF_BYTES],
		(unsigned long long)k[PS_LOSS_READ_FAIL], (unsigned long long)k[PS_LOSS_TRUNC_BYTES],
		(unsigned long long)c->unwritten_bytes, (unsigned long long)c->write_errors,
		(unsigned long long)k[PS_LOSS_SAVE_FULL], (unsigned long long)c->incomplete,
		(unsigned long long)c->malformed, (unsigned long long)c->kernel_missed,
		(unsigned long long)c->uncollected, (unsigned long long)c->check_mismatch,
		(unsigned long long)c->gap_bytes);
}

static void announce_attached(const struct ps_options *opts, const struct ps_plan *plan,
			      const struct ps_probes *probes)
{
	const struct ps_resolved_target *target = &plan->targets[0];
	char *note;
	char version[256];

	/* no file yet: the running programs are looked at next, each found said in a line of its own */
	if (plan->watch_only) {
		ps_info("attached %s to no program yet: watching every program that runs or starts for Go's "
			"crypto/tls, one line each attached (-e BINARY or -p PID: that one only)", opts->module->name);
		return;
	}
	note = ps_attached_note(opts, probes);
	if (target->version[0])
		snprintf(version, sizeof(version), "%s%sversion %s, layout %s", target->product ? target->product : "",
			 target->product ? " " : "", target->version, plan->layout ? plan->layout->name : "none");
	else
		snprintf(version, sizeof(version), "version unknown, no layout");
	ps_info("attached %s to %s (%s), %u probes%s", opts->module->name, target->path, version, probes->n_uprobes,
		note ? note : " (out of memory for the hooks' names)");
	free(note);
}

/*
 * pcapng mode and --from wire: the records (secrets among them) are read
 * before the packets, so a packet follows the secrets its connection had
 * when it was sent, and finds the secrets it needs.
 */
static int poll_records_and_packets(struct capture *cap, struct ring_buffer *rb, int timeout_ms)
{
	int ring_fd = ring_buffer__epoll_fd(rb);
	int err = cap->pcapng ? ps_pcapng_output_wait(cap->pcapng, ring_fd, timeout_ms)
			      : ps_wire_output_wait(cap->wire, ring_fd, timeout_ms);

	if (err)
		return err;
	err = ring_buffer__consume(rb);
	if (err < 0)
		return err;
	if (cap->write_error)
		return cap->write_error;
	err = cap->pcapng ? ps_pcapng_output_packets(cap->pcapng) : ps_wire_output_packets(cap->wire);
	if (err)
		cap->write_error = err;
	return err;
}

/* Once a second: the entry state processes gone left in the kernel's maps goes, each call counted. */
#define SWEEP_INTERVAL_NS 1000000000ull

static void sweep_gone(struct capture *cap, const struct ps_probes *probes)
{
	cap->counters.interrupted_calls += ps_probes_sweep_gone(probes) + ps_reach_watch_sweep_gone(cap->reach);
}

static int drain_loop(struct capture *cap, struct ring_buffer *rb, const struct ps_probes *probes, bool status)
{
	uint64_t start = clock_ns(CLOCK_MONOTONIC), last_status = start, last_sweep = start;
	int err = 0;

	while (!stop_requested && !cap->write_error) {
		/* the kernel side wakes us only under load: see ps_wakeup_flags */
		int timeout_ms = ps_reach_watch_timeout_ms(cap->reach, POLL_INTERVAL_MS);

		if (cap->pcapng || cap->wire) {
			err = poll_records_and_packets(cap, rb, timeout_ms);
		} else {
			err = ring_buffer__poll(rb, timeout_ms);
			/*
			 * Polling returns only what a wakeup announced: records the kernel
			 * side submitted without one wait here until the next wakeup
			 * otherwise, or until the end, when their process may be gone.
			 */
			if (err == 0)
				err = ring_buffer__consume(rb);
		}
		if (err == -EINTR) {
			err = 0;
			continue;
		}
		if (err < 0)
			break;
		err = 0;
		/* the ring was just emptied: whoever --lossless stopped goes on */
		if (cap->opts->lossless)
			cap->counters.held_back += ps_backpressure_release(probes->stopped_fd);
		ps_reach_watch_poll(cap->reach);
		if (clock_ns(CLOCK_MONOTONIC) - last_sweep >= SWEEP_INTERVAL_NS) {
			sweep_gone(cap, probes);
			last_sweep = clock_ns(CLOCK_MONOTONIC);
		}
		if (status) {
			uint64_t now = clock_ns(CLOCK_MONOTONIC);

			if (now - last_status >= 1000000000ull) {
				print_status(cap, probes, now - start, false);
				last_status = now;
			}
		}
	}
	if (status)
		print_status(cap, probes, clock_ns(CLOCK_MONOTONIC) - start, true);
	return err;
}

/*
 * Once the probes, the exec watch, the outputs and the packet capture are
 * set up, only what the rest of the run does needs a capability (README.md,
 * "Without root"): discovery attaches later copies (CAP_BPF, CAP_PERFMON,
 * CAP_SYS_ADMIN where the kernel wants it for uprobes) in other processes'
 * files (CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH); the reach watch reads other
 * processes' maps and files; naming a process whose main thread renamed itself
 * reads /proc/PID/exe (CAP_SYS_PTRACE for another user's, or a root process's).
 * CAP_BPF stays where the kernel refuses bpf(2) on the maps without it.
 */
static void drop_capabilities(const struct ps_probes *probes, const struct ps_reach_watch *reach)
{
	const uint64_t bpf = PS_CAP_BIT(PS_CAP_BPF) | PS_CAP_BIT(PS_CAP_SYS_ADMIN);
	uint64_t keep = PS_CAP_BIT(PS_CAP_SYS_PTRACE);
	int err;

	if (reach)
		keep |= PS_CAP_BIT(PS_CAP_DAC_READ_SEARCH);
	if (ps_reach_watch_discovers(reach))
		keep |= bpf | PS_CAP_BIT(PS_CAP_PERFMON);
	else if (!ps_caps_bpf_usable_with(keep, probes->loss_fd))
		keep |= bpf;
	err = ps_caps_keep_only(keep);
	if (err)
		ps_warn("cannot drop the capabilities no longer needed: %s", strerror(-err));
	else
		ps_debug("capabilities kept once attached: 0x%llx", (unsigned long long)keep);
}

/* Empties the files and sets their writers up; the files are the writers' from then on. */
static int start_writers(const struct ps_options *opts, struct ps_outfiles *files, struct capture *cap)
{
	struct ps_output_opts keylog_opts = { .mode = PS_OUTPUT_KEYLOG };
	int err = ps_outfile_begin(&files->records);

	if (!err && files->keylog.fd >= 0)
		err = ps_outfile_begin(&files->keylog);
	if (err)
		goto fail;
	if (opts->output.mode == PS_OUTPUT_PCAPNG) {
		struct ps_line_sink *sink = ps_stream_event_sink(files->stream);

		err = ps_pcapng_output_open(&files->records, sink, opts, &cap->pcapng);
		if (err)
			goto fail;
		if (sink)
			ps_outfile_discard(&files->records);
		if (ps_stream_wants_records(files->stream)) {
			err = ps_wire_output_open_fed(opts, on_pcapng_wire_record, cap, &cap->wire);
			if (err) {
				ps_pcapng_output_close(cap->pcapng);
				cap->pcapng = NULL;
				goto fail;
			}
			ps_pcapng_output_tap(cap->pcapng, on_pcapng_packet, cap->wire);
		}
	} else {
		FILE *events = ps_stream_events(files->stream);

		/* --eventaddr: the records go there, and stdout stays unused */
		if (events) {
			cap->writer = ps_writer_open_stream(events, &opts->output);
			if (!cap->writer)
				fclose(events);
			ps_outfile_discard(&files->records);
		} else {
			cap->writer = ps_writer_open(&files->records, &opts->output);
		}
		if (cap->writer && opts->from_wire && (err = ps_wire_output_open(opts, on_wire_record, cap, &cap->wire))) {
			ps_writer_close(cap->writer);
			cap->writer = NULL;
			goto fail;
		}
	}
	if ((cap->writer || cap->pcapng) && files->keylog.fd >= 0)
		cap->keylog = ps_writer_open(&files->keylog, &keylog_opts);
	if ((cap->writer || cap->pcapng) && (cap->keylog || files->keylog.fd < 0))
		return 0;
	err = errno ? -errno : -ENOMEM;
	ps_error("cannot set up the output: %s", strerror(-err));
	ps_writer_close(cap->writer);
	cap->writer = NULL;
	ps_pcapng_output_close(cap->pcapng);
	cap->pcapng = NULL;
fail:
	ps_outfiles_discard(files);
	return err;
}

int ps_capture_run(const struct ps_options *opts, const struct ps_plan *plan, struct ps_probes *probes,
		   struct ps_outfiles *files, struct ps_exec_watch_ahead *exec_ahead)
{
	struct capture cap = { .opts = opts, .plan = plan, .stream = files->stream,
			       .counters = { .keys_refused = ps_trust_keys_refused(&plan->trust) } };
	struct ps_ring_reader *reader = NULL;
	struct ring_buffer *rb = NULL;
	bool status = !opts->quiet && (opts->status || isatty(STDERR_FILENO));
	int64_t mono_to_wall = (int64_t)(clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC));
	int err, close_err;

	raise_reader_priority();
	err = start_writers(opts, files, &cap);
	if (err) {
		ps_exec_watch_ahead_cancel(exec_ahead);
		return err;
	}
	cap.secrets_seen = ps_keylog_new();
	cap.assembler = ps_assembler_new(opts->module, mono_to_wall, &cap.counters, on_record, &cap);
	cap.collect = ps_collect_new(opts);
	cap.names = ps_procnames_new();
	reader = ps_probes_take_reader(probes);
	rb = reader ? ps_ring_reader_start(reader, on_ring_record, &cap) : NULL;
	if (!cap.secrets_seen || !cap.assembler || !cap.collect || !cap.names || !rb) {
		ps_error("cannot set up the ring buffer reader: %s", strerror(errno));
		err = -ENOMEM;
		goto out;
	}
	install_signal_handlers();
	ps_plan_print_warnings(plan);
	/*
	 * The exec watch is attached before the line that says capture runs: a
	 * program started after that line is always seen by its exec. One
	 * started before it is found by the scan of the running processes,
	 * which comes after the line so that the copies it attaches follow it.
	 */
	cap.reach = ps_reach_watch_start(opts, plan, probes, rb, cap.writer, status, exec_ahead);
	exec_ahead = NULL;
	drop_capabilities(probes, cap.reach);
	announce_attached(opts, plan, probes);
	ps_reach_watch_scan(cap.reach);
	err = drain_loop(&cap, rb, probes, status);

	/* Detach first, so that what is left in the ring buffer is all there is. */
	ps_probes_detach(probes);
	ps_reach_watch_detach(cap.reach);
	if (!cap.write_error)
		ring_buffer__consume(rb);
	sweep_gone(&cap, probes);
	if (opts->lossless)
		cap.counters.held_back += ps_backpressure_release(probes->stopped_fd);
	ps_reach_watch_finish(cap.reach);
	cap.counters.unreachable_programs = ps_reach_watch_unreachable(cap.reach);
	cap.counters.targets = ps_reach_watch_targets(cap.reach, true);
	/* watching for Go programs, the first file is a program found too */
	if (cap.counters.targets > 1 || (plan->watch_only && cap.counters.targets))
		ps_info("targets: %llu files probed over the run, %u still at the end",
			(unsigned long long)cap.counters.targets, ps_reach_watch_targets(cap.reach, false));
	ps_assembler_flush(cap.assembler);
	ps_collect_flush(cap.collect, deliver_record, &cap);
	if (cap.pcapng && !cap.write_error && (err = ps_pcapng_output_finish(cap.pcapng)) != 0)
		cap.write_error = err;
	if (cap.wire && !cap.write_error && (err = ps_wire_output_finish(cap.wire)) != 0)
		cap.write_error = err;
	ps_probes_read_loss(probes, cap.counters.kernel_loss);
	/* those the kernel removed as their thread ended; the sweeps count the others */
	cap.counters.interrupted_calls += cap.counters.kernel_loss[PS_LOSS_INTERRUPTED];
	cap.counters.kernel_missed = ps_probes_missed_runs(probes);
	if (err < 0 && !cap.write_error)
		ps_error("reading the ring buffer failed: %s", strerror(-err));
out:
	ps_exec_watch_ahead_cancel(exec_ahead);    /* NULL once the reach watch took it */
	ps_ring_reader_free(reader);
	ps_reach_watch_free(cap.reach);
	if (cap.assembler)
		ps_assembler_free(cap.assembler);
	cap.counters.uncollected = ps_collect_uncollected(cap.collect);
	ps_collect_free(cap.collect);
	ps_procnames_free(cap.names);
	ps_keylog_free(cap.secrets_seen);
	if (cap.wire) {
		/* pcapng mode's decryption for eCaptureQ: its packets are the file's, counted there */
		if (!cap.pcapng)
			ps_wire_output_counters(cap.wire, &cap.counters);
		else
			debug_pcapng_decryption(cap.wire);
		ps_wire_output_close(cap.wire);
	}
	if (cap.pcapng)
		ps_pcapng_output_counters(cap.pcapng, &cap.counters);
	else if (!cap.write_error)
		ps_writer_summary(cap.writer, &cap.counters);
	if (cap.keylog && (close_err = ps_writer_close(cap.keylog)) != 0 && !cap.write_error) {
		ps_error("cannot write %s: %s", opts->keylog_path, strerror(-close_err));
		cap.write_error = close_err;
	}
	close_err = cap.pcapng ? ps_pcapng_output_close(cap.pcapng) : close_writer(&cap);
	if (close_err && !cap.write_error)
		output_failed(&cap, close_err);
	print_summary(&cap.counters, cap.pcapng != NULL);
	if (cap.write_error)
		return cap.write_error == -EPIPE ? 0 : cap.write_error;
	return err < 0 ? err : 0;
}
