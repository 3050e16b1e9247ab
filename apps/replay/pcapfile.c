/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * replay_core: the built-in reader of classic pcap files (see replay_int.h).
 *
 * libpcap has opened the capture and checked its file header; here we only
 * decide whether its records may be walked in place, and supply the bytes:
 * all of them at once for a capture in memory, or parts of a regular file
 * mapped one after the other.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "replay_int.h"

#define PCAP_MAGIC 0xa1b2c3d4u
#define PCAP_MAGIC_NSEC 0xa1b23c4du
/* What libpcap accepts from a record of our link types without cutting it
 * (MAXIMUM_SNAPLEN; max_snaplen_for_dlt() is larger only for D-Bus, EBHSCR
 * and USBPcap, which nc_parse does not take). */
#define PCAP_MAX_SNAPLEN 262144u

int pcapfile_open(struct pcapfile *pf, pcap_t *p, int fd, const uint8_t *mem, size_t len,
		  size_t map_size)
{
	uint8_t m[4];
	uint32_t magic;
	int snap = pcap_snapshot(p);
	struct stat st;

	memset(pf, 0, sizeof(*pf));
	pf->fd = -1;
	/* 2.4 only: 2.3 and older may have caplen and len swapped, which
	 * libpcap guesses per record; the "modified" formats (other magics)
	 * have longer record headers */
	if (pcap_major_version(p) != 2 || pcap_minor_version(p) != 4 || snap <= 0)
		return 1;
	if (mem) {
		if (len < 24)
			return 1;
		memcpy(m, mem, 4);
	} else if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size < 24 ||
		   pread(fd, m, 4, 0) != 4) {
		return 1;
	}
	magic = (uint32_t)m[0] | (uint32_t)m[1] << 8 | (uint32_t)m[2] << 16 | (uint32_t)m[3] << 24;
	if (magic == PCAP_MAGIC || magic == PCAP_MAGIC_NSEC) {
		pf->swapped = false; /* written on a little-endian host */
	} else {
		magic = __builtin_bswap32(magic);
		if (magic != PCAP_MAGIC && magic != PCAP_MAGIC_NSEC)
			return 1;
		pf->swapped = true;
	}
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	pf->swapped = !pf->swapped;
#endif
	/* what libpcap read must be this very header */
	if (pf->swapped != (pcap_is_swapped(p) != 0))
		return 1;
	pf->nsec = magic == PCAP_MAGIC_NSEC;
	pf->snap = (uint32_t)snap < PCAP_MAX_SNAPLEN ? (uint32_t)snap : PCAP_MAX_SNAPLEN;
	pf->off = 24;
	if (mem) {
		pf->p = mem + 24;
		pf->end = mem + len;
		pf->eof = true;
		return 0;
	}
	pf->fd = fd;
	pf->size = st.st_size;
	pf->page = (size_t)sysconf(_SC_PAGESIZE);
	/* a mapping holds the page before the first unread byte, then at
	 * least one whole record */
	map_size = map_size ? map_size : PCAPFILE_MAP;
	if (map_size < pf->page + 16 + pf->snap)
		map_size = pf->page + 16 + pf->snap;
	pf->map_size = (map_size + pf->page - 1) / pf->page * pf->page;
	/* map the start; if the file cannot be mapped, libpcap reads it all */
	return pcapfile_refill(pf) ? 0 : 1;
}

int pcapfile_refill(struct pcapfile *pf)
{
	int64_t start, len;
	size_t have = (size_t)(pf->end - pf->p);
	void *m;

	if (pf->eof)
		return 0;
	start = pf->off / (int64_t)pf->page * (int64_t)pf->page;
	len = pf->size - start;
	if (len > (int64_t)pf->map_size)
		len = (int64_t)pf->map_size;
	else
		pf->eof = true; /* this mapping reaches the end of the file */
	if (start + len <= pf->off + (int64_t)have) {
		pf->eof = true; /* nothing after what we have */
		return 0;
	}
	if (pf->map)
		munmap(pf->map, pf->map_len);
	pf->map = NULL;
	pf->p = pf->end = NULL;
	m = mmap(NULL, (size_t)len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, pf->fd, (off_t)start);
	if (m == MAP_FAILED) {
		pf->eof = true; /* libpcap reads on from pf->off */
		return 0;
	}
	pf->map = m;
	pf->map_len = (size_t)len;
	pf->p = pf->map + (pf->off - start);
	pf->end = pf->map + len;
	return 1;
}

void pcapfile_close(struct pcapfile *pf)
{
	if (pf->map)
		munmap(pf->map, pf->map_len);
	pf->map = NULL;
	pf->p = pf->end = NULL;
}
