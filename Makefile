# Lab tooling for the p2p ring. `make help` lists the targets.

CARGO ?= cargo

# The course: p2p (the current one), or 2019 for the older version, whose
# program is cdht (COURSE=2019: the demo ring 1 3 4 5 8 10 12 15 on base
# port 50000, each peer with MSS and DROP).
COURSE ?= p2p

# The ring that `make run-ring` starts (scripts/ring.sh does the work).
# With COURSE=2019 an empty RING means the 2019 demo ring.
ifeq ($(strip $(COURSE)),2019)
RING ?=
BASE_PORT ?= 50000
else
RING ?= 2 4 5 8 9 14 19
BASE_PORT ?= 12000
endif
INTERVAL ?= 5
MSS ?= 400
DROP ?= 0.1
TERM_UI ?= auto
TMUX_LAYOUT ?= windows
PEER_ARGS ?=
# QUIET_PINGS=1: the peers print no ping lines (their logs keep them).
QUIET_PINGS ?=
# Where the rings' logs and directories go (scripts/ring.sh: run/ when empty).
RUN_DIR ?=
# `make ring`: more options for `p2p ring`, e.g. RING_ARGS='--svg ring.svg'.
RING_ARGS ?=

# The peer binary. Set P2P to run another binary (a debug build, a stub):
# then nothing is built. CDHT does the same for COURSE=2019.
ifeq ($(strip $(P2P)),)
P2P := $(abspath $(or $(CARGO_TARGET_DIR),target))/release/p2p
BUILD_P2P := $(CARGO) build --release --quiet
else
BUILD_P2P := @true
endif
ifeq ($(strip $(COURSE)),2019)
ifeq ($(strip $(CDHT)),)
CDHT := $(abspath $(or $(CARGO_TARGET_DIR),target))/release/cdht
BUILD_P2P := $(CARGO) build --release --quiet
else
BUILD_P2P := @true
endif
endif

# Targets that take a peer.
PEER ?=
KNOWN ?=
CMD ?=

# `make sim`: how many seeds, how many peers a ring; SEED=<n> replays one
# seed with a trace, SCENARIO=<name> runs only one scenario.
SEEDS ?= 500
PEERS ?= 128
SEED ?=
SCENARIO ?=
SIM_ARGS = --seeds $(SEEDS) --peers $(PEERS) $(if $(strip $(SEED)),--seed $(SEED)) \
	$(if $(strip $(SCENARIO)),--scenario $(SCENARIO))

# Passed to scripts/ring.sh through the environment, so that values with
# spaces or quotes arrive untouched.
export RING INTERVAL BASE_PORT TERM_UI TMUX_LAYOUT PEER_ARGS P2P PEER KNOWN CMD
export COURSE CDHT MSS DROP QUIET_PINGS RUN_DIR

# `make stop`, `make status` and `make timeline` act on one ring when BASE_PORT was given
# (on the command line or in the environment), or COURSE=2019 was (its
# ring, on 50000 unless BASE_PORT says otherwise), otherwise on every ring.
ifneq ($(filter command line environment environment override,$(origin BASE_PORT)),)
SELECTED_RING := $(BASE_PORT)
BASE_PORT_GIVEN := yes
else ifeq ($(strip $(COURSE)),2019)
SELECTED_RING := $(BASE_PORT)
BASE_PORT_GIVEN := yes
else
SELECTED_RING :=
BASE_PORT_GIVEN :=
endif
# Without BASE_PORT or COURSE, send and kill may fall back on the 2019 ring
# on 50000 when no ring runs on 12000 (scripts/ring.sh, pick_ring).
export BASE_PORT_GIVEN

RING_SH := scripts/ring.sh

.PHONY: help build run-ring join send kill stop status timeline ring test bench sim clean

help:
	@echo 'make run-ring   start the ring RING (default: 2 4 5 8 9 14 19) on BASE_PORT (default 12000)'
	@echo "                with INTERVAL (default 5; the course's is INTERVAL=30), in tmux, xterms or"
	@echo '                the background (TERM_UI=auto|tmux|xterm|background); QUIET_PINGS=1: the'
	@echo '                peers print no ping lines (their logs, run/BASE_PORT/peer-N.log, keep them)'
	@echo "make send PEER=8 CMD='Store 2067'   type a command into a peer"
	@echo 'make join PEER=15 KNOWN=4           add a peer to the running ring'
	@echo 'make kill PEER=5                    kill a peer abruptly'
	@echo 'make status     which peers of which rings are running'
	@echo "make timeline   every peer's log in time order, without the pings (or only BASE_PORT=N)"
	@echo "make ring       check the running ring with p2p ring: its peers, successors and files,"
	@echo '                and whether it is consistent (RING_ARGS: more options, e.g. --svg ring.svg)'
	@echo 'make stop       stop every ring under run/ (or only BASE_PORT=N)'
	@echo 'make test       cargo fmt --check, clippy -D warnings, cargo test'
	@echo 'make bench      failure detection, joins, idle cost, the transfer, and the ring under'
	@echo '                load, floods and two adjacent kills, and files that follow the ring'
	@echo '                (--replicas, --handover) (about 9 minutes)'
	@echo 'make sim        the deterministic simulator: SEEDS (default 500) seeded runs of rings of'
	@echo '                PEERS (default 128) real state machines under faults, with figures and'
	@echo '                violations; make sim SEED=<n> PEERS=<p> replays one seed with a trace'
	@echo '                (SCENARIO=<name> picks one scenario; SIM_TRACE=1 traces every event)'
	@echo 'make clean      stop the rings, remove run/, cargo clean'
	@echo "COURSE=2019     the same targets for the 2019 course's cdht: its demo ring 1 3 4 5 8 10 12 15"
	@echo "                on base port 50000, with MSS (default 400) and DROP (default 0.1); no join"

build:
	$(BUILD_P2P)

run-ring: build
	@$(RING_SH) start

# cdht has no join: ring.sh refuses COURSE=2019 before anything is built.
join: $(if $(filter 2019,$(strip $(COURSE))),,build)
	@$(RING_SH) join "$$PEER" "$$KNOWN"

send:
	@$(RING_SH) send "$$PEER" "$$CMD"

kill:
	@$(RING_SH) kill "$$PEER"

stop:
	@$(RING_SH) stop $(SELECTED_RING)

status:
	@$(RING_SH) status $(SELECTED_RING)

timeline:
	@$(RING_SH) timeline $(SELECTED_RING)

# p2p checks a cdht ring too: both speak the same protocol.
ring: build
	@$(RING_SH) ring $(RING_ARGS)

test:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings
	$(CARGO) test

bench:
	$(CARGO) bench --bench ring --bench transfer --bench stress --bench files

sim:
	$(CARGO) bench --quiet --bench sim -- $(SIM_ARGS)

clean:
	@$(RING_SH) stop
	rm -rf run
	$(CARGO) clean
