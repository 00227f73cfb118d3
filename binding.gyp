{
  "targets": [
    {
      "target_name": "savekit_native",
      "sources": ["native/addon.c", "native/pipe-setup.c", "native/xxh64.c", "native/copy.c", "native/map.c"],
      "cflags": ["-O3", "-Wall"]
    }
  ]
}
