/* Choosing a kernel table from what the CPU has. */
#include "nn/kern.h"
#include "nn/nn.h"

#include <string.h>

int nn_cpu_has(const char *isa)
{
    __builtin_cpu_init();
    if (!strcmp(isa, "scalar")) return 1;
    if (!strcmp(isa, "avx2"))
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (!strcmp(isa, "avx512"))
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    if (!strcmp(isa, "avx512_bf16"))
        return nn_cpu_has("avx512") && __builtin_cpu_supports("avx512bf16");
    return 0;
}

const nn_kernels *nn_kernels_pick(int isa)
{
    if ((isa == NN_ISA_AUTO || isa == NN_ISA_AVX512) && nn_cpu_has("avx512"))
        return &nn_kern_avx512;
    if ((isa == NN_ISA_AUTO || isa == NN_ISA_AVX512 || isa == NN_ISA_AVX2) && nn_cpu_has("avx2"))
        return &nn_kern_avx2;
    return &nn_kern_ref;
}
