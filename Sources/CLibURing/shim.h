// liburing is reached only through CRingSupport's C shims; Swift never
// imports its inline functions or C11 atomics directly.
#include <liburing.h>
