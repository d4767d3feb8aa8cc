# The CPU-only build (node-gyp): what `ATENTO_CUDA=0 npm install` and node-gyp-build's
# fallback compile, and what prebuildify packages. Sources are globbed like CMakeLists.txt's.
# oneDNN is used when its header is installed (Debian: libdnnl-dev); OpenMP always. Linked with
# -z nodelete: Node unloads an addon when the last worker_thread using it exits, which would
# unmap libgomp under its idle pool threads.
{
  "variables": {
    "atento_onednn%": "<!(node -e \"console.log(require('fs').existsSync('/usr/include/oneapi/dnnl/dnnl.h') && process.env.ATENTO_ONEDNN !== 'OFF' ? 1 : 0)\")",
    "atento_march%": "<!(node -e \"console.log(process.env.ATENTO_MARCH || 'native')\")"
  },
  "targets": [
    {
      "target_name": "atento",
      "sources": [
        "<!@(node -e \"const fs=require('fs');for(const d of ['native','native/cpu','native/ops'])for(const f of fs.readdirSync(d))if(f.endsWith('.cc'))console.log(d+'/'+f)\")"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native"
      ],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++1y", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-O3", "-march=<(atento_march)", "-fno-math-errno", "-fopenmp",
                    "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter"],
      "ldflags": ["-fopenmp", "-Wl,-z,nodelete"],
      "conditions": [
        ["atento_onednn==1", {
          "defines": ["ATENTO_WITH_ONEDNN"],
          "libraries": ["-ldnnl"]
        }]
      ]
    }
  ]
}
