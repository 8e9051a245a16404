/* LD_PRELOAD shim for the baresip tests: the machine's interface list becomes one interface
 * with 127.0.0.1, and a connect() to any non-loopback IPv4 address (how libre finds its
 * "default source address") goes to 127.0.0.1 instead, and so does the address an
 * interface reports through ioctl(SIOCGIFADDR). So baresip writes a loopback address
 * into its SDP and Contact and every packet of the test stays on loopback. baresip refuses
 * `net_interface lo`, hence the shim. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

int getifaddrs(struct ifaddrs **ifap)
{
	struct ifaddrs *ifa = calloc(1, sizeof(*ifa));
	struct sockaddr_in *addr = calloc(1, sizeof(*addr));
	struct sockaddr_in *mask = calloc(1, sizeof(*mask));
	if (!ifa || !addr || !mask)
		return -1;
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	mask->sin_family = AF_INET;
	mask->sin_addr.s_addr = htonl(0xff000000u);
	ifa->ifa_name = strdup("testlo");
	ifa->ifa_flags = IFF_UP | IFF_RUNNING;
	ifa->ifa_addr = (struct sockaddr *)addr;
	ifa->ifa_netmask = (struct sockaddr *)mask;
	*ifap = ifa;
	return 0;
}

void freeifaddrs(struct ifaddrs *ifa)
{
	(void)ifa; /* a few bytes per call in a short-lived test process */
}

int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	static int (*real_connect)(int, const struct sockaddr *, socklen_t);
	if (!real_connect)
		real_connect = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "connect");
	if (sa && sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		struct sockaddr_in in;
		memcpy(&in, sa, sizeof(in));
		if ((ntohl(in.sin_addr.s_addr) >> 24) != 127) {
			in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			return real_connect(fd, (const struct sockaddr *)&in, sizeof(in));
		}
	}
	return real_connect(fd, sa, len);
}

int ioctl(int fd, unsigned long req, ...)
{
	static int (*real_ioctl)(int, unsigned long, void *);
	va_list ap;
	void *arg;
	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!real_ioctl)
		real_ioctl = (int (*)(int, unsigned long, void *))dlsym(RTLD_NEXT, "ioctl");
	if (req == SIOCGIFADDR && arg) {
		struct ifreq *ifr = arg;
		struct sockaddr_in in;
		memset(&in, 0, sizeof(in));
		in.sin_family = AF_INET;
		in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		memcpy(&ifr->ifr_addr, &in, sizeof(in));
		return 0;
	}
	return real_ioctl(fd, req, arg);
}
