# Sourced by scripts/build-target and scripts/install-wine: where the cross
# toolchain lives (zig, cargo-zigbuild, zig's cache, the link stubs and the
# cross builds' cargo target dir).
#
# It is in the cargo home, not in the clone, so that a fresh clone (CI's case:
# the clone is new, ~/.cargo is kept) reuses the tools and compiles std and
# the dependencies once per toolchain and lock-file change instead of every
# run. The paths must be the same for every clone: RUSTFLAGS name the stubs
# folder, and the C compiler's path reaches build scripts (ring's), so a
# per-clone path would rebuild everything. Cargo keys each workspace crate's
# artifacts by the crate's path, so clones never reuse each other's crates,
# only std and what came from crates.io. AZP_CROSS_HOME overrides the place;
# deleting it only costs time.
cross_home="${AZP_CROSS_HOME:-${CARGO_HOME:-$HOME/.cargo}/azp-aws-tasks}"
