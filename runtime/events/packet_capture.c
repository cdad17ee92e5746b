/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "log.h"
#include "meminfo.h"
#include "packet_capture.h"
#include "pcap_lib.h"

/*
 * The kernel rings: a 64th of the memory available, shared by the
 * interfaces, 32 to 256 MiB each. A loopback transfer arrives faster than a poll interval drains
 * libpcap's default 2 MiB, and while the reader waits for a CPU (bench P2w,
 * 2 cores busy with both ends of a transfer) 32 MiB filled too; what does
 * not fit is dropped and counted (pcap_stats).
 */
#define RING_MIN_BYTES ((size_t)32 << 20)
#define RING_MAX_BYTES ((size_t)256 << 20)
/*
 * TPACKET_V3 hands a block over when it is full or this old: the longest a
 * packet waits in the kernel, and so the delay of `tshark -r` on a live file.
 */
#define BLOCK_TIMEOUT_MS 20

struct iface {
	char *name;
	pcap_t *pcap;
	int linktype;
};

struct ps_packet_capture {
	const struct ps_pcap *lib;
	struct iface *ifaces;
	size_t n;
};

int ps_packet_filter_check(const char *filter, char *err, size_t err_size)
{
	const struct ps_pcap *lib;
	pcap_t *dead;
	struct bpf_program program;
	int rc;

	if (!filter || !*filter)
		return 0;
	lib = ps_pcap_lib();
	if (!lib) {
		snprintf(err, err_size, "%s", ps_pcap_lib_error());
		return -ENOEXEC;
	}
	dead = lib->open_dead_with_tstamp_precision(DLT_EN10MB, PS_PACKET_SNAPLEN, PCAP_TSTAMP_PRECISION_NANO);
	if (!dead) {
		snprintf(err, err_size, "out of memory");
		return -ENOMEM;
	}
	rc = lib->compile(dead, &program, filter, 1, PCAP_NETMASK_UNKNOWN);
	if (rc != 0)
		snprintf(err, err_size, "%s", lib->geterr(dead));
	else
		lib->freecode(&program);
	lib->close(dead);
	return rc ? -EINVAL : 0;
}

static bool interface_is_up(int sock, const char *name)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	return ioctl(sock, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP);
}

static int add_name(struct ps_packet_capture *pc, const char *name)
{
	struct iface *grown;

	for (size_t i = 0; i < pc->n; i++)
		if (strcmp(pc->ifaces[i].name, name) == 0)
			return 0; /* named twice (or by "any" too): one handle, or packets twice */
	grown = realloc(pc->ifaces, (pc->n + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	pc->ifaces = grown;
	pc->ifaces[pc->n] = (struct iface){ .name = strdup(name) };
	if (!pc->ifaces[pc->n].name)
		return -ENOMEM;
	pc->n++;
	return 0;
}

/*
 * "any": each interface that is up gets its own handle, not libpcap's "any"
 * device, whose cooked link type hides the real one and which needs its own
 * care not to show loopback packets twice.
 */
static int add_interfaces_up(struct ps_packet_capture *pc)
{
	struct if_nameindex *list = if_nameindex();
	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int err = 0;

	if (!list || sock < 0) {
		err = -errno;
		ps_error("cannot list the network interfaces: %s", strerror(errno));
		goto out;
	}
	for (struct if_nameindex *i = list; i->if_index && !err; i++)
		if (interface_is_up(sock, i->if_name))
			err = add_name(pc, i->if_name);
	if (!err && pc->n == 0) {
		ps_error("-i any: no network interface is up");
		err = -ENODEV;
	}
out:
	if (sock >= 0)
		close(sock);
	if (list)
		if_freenameindex(list);
	return err;
}

static int fail_pcap(const struct ps_pcap *lib, pcap_t *pcap, const char *name, const char *what, int rc)
{
	const char *msg = rc == PCAP_ERROR || rc == PCAP_WARNING ? lib->geterr(pcap) : lib->statustostr(rc);

	ps_error("cannot capture on interface %s: %s: %s", name, what, msg);
	return rc == PCAP_ERROR_NO_SUCH_DEVICE ? -ENODEV : rc == PCAP_ERROR_PERM_DENIED ? -EPERM : -EIO;
}

static int set_filter(const struct ps_pcap *lib, struct iface *iface, const char *filter)
{
	struct bpf_program program;
	int rc;

	if (!filter || !*filter)
		return 0;
	if (lib->compile(iface->pcap, &program, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		ps_error("packet filter '%s' on interface %s: %s", filter, iface->name, lib->geterr(iface->pcap));
		return -EINVAL;
	}
	rc = lib->setfilter(iface->pcap, &program);
	lib->freecode(&program);
	return rc ? fail_pcap(lib, iface->pcap, iface->name, "setting the filter", PCAP_ERROR) : 0;
}

static size_t ring_bytes(size_t n_ifaces)
{
	size_t want = (size_t)(ps_mem_available_kib() / 64) * 1024 / (n_ifaces ? n_ifaces : 1);

	return want < RING_MIN_BYTES ? RING_MIN_BYTES : want > RING_MAX_BYTES ? RING_MAX_BYTES : want;
}

static int open_iface(const struct ps_pcap *lib, struct iface *iface, const char *filter, size_t n_ifaces)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	int rc;

	iface->pcap = lib->create(iface->name, errbuf);
	if (!iface->pcap) {
		ps_error("cannot capture on interface %s: %s", iface->name, errbuf);
		return -ENODEV;
	}
	/* before activation, these only record wishes: they fail only on an active handle */
	lib->set_snaplen(iface->pcap, PS_PACKET_SNAPLEN);
	lib->set_buffer_size(iface->pcap, (int)ring_bytes(n_ifaces));
	lib->set_timeout(iface->pcap, BLOCK_TIMEOUT_MS);
	lib->set_tstamp_precision(iface->pcap, PCAP_TSTAMP_PRECISION_NANO);
	rc = lib->activate(iface->pcap);
	if (rc < 0)
		return fail_pcap(lib, iface->pcap, iface->name, "activating", rc);
	if (rc > 0)
		ps_warn("interface %s: %s", iface->name, lib->statustostr(rc));
	iface->linktype = lib->datalink(iface->pcap);
	rc = set_filter(lib, iface, filter);
	if (rc)
		return rc;
	if (lib->setnonblock(iface->pcap, 1, errbuf) != 0) {
		ps_error("cannot capture on interface %s: %s", iface->name, errbuf);
		return -EIO;
	}
	return 0;
}

int ps_packet_capture_open(const char *const *names, size_t n_names, const char *filter,
			   struct ps_packet_capture **out)
{
	struct ps_packet_capture *pc = calloc(1, sizeof(*pc));
	int err = pc ? 0 : -ENOMEM;

	if (pc) {
		pc->lib = ps_pcap_lib();
		if (!pc->lib) {
			ps_error("cannot capture packets: %s", ps_pcap_lib_error());
			free(pc);
			return -ENOEXEC;
		}
	}

	if (!n_names && !err)
		err = add_interfaces_up(pc);
	for (size_t i = 0; i < n_names && !err; i++)
		err = strcmp(names[i], "any") == 0 ? add_interfaces_up(pc) : add_name(pc, names[i]);
	if (err == -ENOMEM)
		ps_error("out of memory");
	for (size_t i = 0; pc && i < pc->n && !err; i++)
		err = open_iface(pc->lib, &pc->ifaces[i], filter, pc->n);
	if (err) {
		ps_packet_capture_close(pc);
		return err;
	}
	*out = pc;
	return 0;
}

void ps_packet_capture_close(struct ps_packet_capture *pc)
{
	if (!pc)
		return;
	for (size_t i = 0; i < pc->n; i++) {
		if (pc->ifaces[i].pcap)
			pc->lib->close(pc->ifaces[i].pcap);
		free(pc->ifaces[i].name);
	}
	free(pc->ifaces);
	free(pc);
}

size_t ps_packet_capture_count(const struct ps_packet_capture *pc)
{
	return pc->n;
}

const char *ps_packet_capture_name(const struct ps_packet_capture *pc, size_t i)
{
	return pc->ifaces[i].name;
}

int ps_packet_capture_linktype(const struct ps_packet_capture *pc, size_t i)
{
	return pc->ifaces[i].linktype;
}

/*
 * A few DLT_ values differ from platform to platform, so files carry the
 * LINKTYPE_ numbers instead (tcpdump.org's link-layer header types). Raw
 * IP (tun and WireGuard devices) is DLT_RAW 12 on Linux but LINKTYPE_RAW
 * 101 in a file; the other values libpcap gives on Linux are the same in
 * both.
 */
uint16_t ps_packet_capture_file_linktype(const struct ps_packet_capture *pc, size_t i)
{
	switch (pc->ifaces[i].linktype) {
	case DLT_ATM_RFC1483:
		return 100;
	case DLT_RAW:
		return 101;
	case DLT_SLIP_BSDOS:
		return 102;
	case DLT_PPP_BSDOS:
		return 103;
	default:
		return (uint16_t)pc->ifaces[i].linktype;
	}
}

int ps_packet_capture_pollfds(const struct ps_packet_capture *pc, struct pollfd **pollfds, size_t *n)
{
	*pollfds = calloc(pc->n + 1, sizeof(**pollfds));
	if (!*pollfds) {
		ps_error("out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < pc->n; i++)
		(*pollfds)[i] = (struct pollfd){ .fd = pc->lib->get_selectable_fd(pc->ifaces[i].pcap), .events = POLLIN };
	*n = pc->n + 1;
	return 0;
}

struct dispatch_ctx {
	uint32_t interface;
	ps_packet_fn on_packet;
	void *arg;
	int error;
};

static void on_pcap_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct dispatch_ctx *ctx = (struct dispatch_ctx *)user;
	struct ps_packet packet = {
		.interface = ctx->interface,
		/* nanosecond precision: tv_usec holds nanoseconds */
		.wall_ns = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec,
		.data = bytes,
		.captured_len = h->caplen,
		.original_len = h->len,
	};

	if (ctx->error)
		return;
	ctx->error = ctx->on_packet(&packet, ctx->arg);
}

int ps_packet_capture_dispatch(struct ps_packet_capture *pc, ps_packet_fn on_packet, void *arg)
{
	int total = 0;

	for (size_t i = 0; i < pc->n; i++) {
		struct dispatch_ctx ctx = { .interface = (uint32_t)i, .on_packet = on_packet, .arg = arg };
		int n = pc->lib->dispatch(pc->ifaces[i].pcap, -1, on_pcap_packet, (u_char *)&ctx);

		if (ctx.error)
			return ctx.error;
		if (n < 0) {
			ps_error("capturing on interface %s: %s", pc->ifaces[i].name, pc->lib->geterr(pc->ifaces[i].pcap));
			return -EIO;
		}
		total += n;
	}
	return total;
}

uint64_t ps_packet_capture_dropped(struct ps_packet_capture *pc)
{
	uint64_t dropped = 0;

	for (size_t i = 0; i < pc->n; i++) {
		struct pcap_stat stat;

		if (pc->lib->stats(pc->ifaces[i].pcap, &stat) == 0)
			dropped += stat.ps_drop;
	}
	return dropped;
}
