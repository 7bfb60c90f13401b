// Thread names through prctl (Swift's Glibc module does not show
// pthread_setname_np, which needs _GNU_SOURCE).
#include "CRingSupport.h"
#include <errno.h>
#include <sys/prctl.h>

int rk_set_thread_name(const char *name) {
    return prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0) == 0 ? 0 : -errno;
}

int rk_thread_name(char *out) {
    return prctl(PR_GET_NAME, (unsigned long)out, 0, 0, 0) == 0 ? 0 : -errno;
}
