#pragma once
// Message tags. CAF 0.17 atoms: at most 10 characters of [0-9A-Za-z_].
#include <caf/atom.hpp>

namespace troupe::atoms {

using tokenize = caf::atom_constant<caf::atom("tokenize")>;      // request -> tokenizer
using detok = caf::atom_constant<caf::atom("detok")>;            // engine -> tokenizer (/detokenize)
using submit = caf::atom_constant<caf::atom("submit")>;          // request -> scheduler
using abort_seqs = caf::atom_constant<caf::atom("abortseqs")>;   // request -> scheduler
using run_step = caf::atom_constant<caf::atom("runstep")>;       // scheduler -> executor
using step_done = caf::atom_constant<caf::atom("stepdone")>;     // executor -> scheduler
using outputs = caf::atom_constant<caf::atom("outputs")>;        // scheduler -> request
using cancel = caf::atom_constant<caf::atom("cancel")>;          // engine -> request (client gone)
using stats = caf::atom_constant<caf::atom("stats")>;            // scheduler -> telemetry
using tick = caf::atom_constant<caf::atom("tick")>;              // telemetry -> itself
using route = caf::atom_constant<caf::atom("route")>;            // request -> router
using pause = caf::atom_constant<caf::atom("pause")>;            // engine -> scheduler (POST /pause)
using resume = caf::atom_constant<caf::atom("resume")>;          // engine -> scheduler (POST /resume)
using run_rank = caf::atom_constant<caf::atom("runrank")>;       // executor -> tensor-parallel rank

}  // namespace troupe::atoms
