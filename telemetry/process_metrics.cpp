#include "telemetry/process_metrics.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace troupe {

namespace {

prometheus::Gauge& gauge(prometheus::Registry& r, const char* name, const char* help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(r).Add({});
}

// Seconds since the epoch at which this process started: boot time + start ticks.
double start_time_seconds() {
  std::ifstream stat_file("/proc/self/stat");
  std::string line;
  std::getline(stat_file, line);
  // Field 22 (starttime) counts after the ')' that closes the command name.
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  std::string field;
  unsigned long long start_ticks = 0;
  for (int i = 3; i <= 22 && rest >> field; ++i) {
    if (i == 22) start_ticks = std::stoull(field);
  }
  std::ifstream proc_stat("/proc/stat");
  double boot = 0;
  while (std::getline(proc_stat, line)) {
    if (line.rfind("btime ", 0) == 0) boot = std::stod(line.substr(6));
  }
  return boot + static_cast<double>(start_ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace

ProcessMetrics::ProcessMetrics(prometheus::Registry& registry)
    : rss_(&gauge(registry, "process_resident_memory_bytes", "Resident memory size in bytes.")),
      vsize_(&gauge(registry, "process_virtual_memory_bytes", "Virtual memory size in bytes.")),
      fds_(&gauge(registry, "process_open_fds", "Number of open file descriptors.")),
      max_fds_(&gauge(registry, "process_max_fds", "Maximum number of open file descriptors.")),
      start_time_(&gauge(registry, "process_start_time_seconds", "Start time of the process since unix epoch in seconds.")),
      cpu_(&prometheus::BuildCounter()
                .Name("process_cpu_seconds_total")
                .Help("Total user and system CPU time spent in seconds.")
                .Register(registry)
                .Add({})) {
  start_time_->Set(start_time_seconds());
  sample();
}

void ProcessMetrics::sample() {
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  std::ifstream statm("/proc/self/statm");
  double vsize_pages = 0, rss_pages = 0;
  statm >> vsize_pages >> rss_pages;
  rss_->Set(rss_pages * page);
  vsize_->Set(vsize_pages * page);
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const double cpu = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                     static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  if (cpu > cpu_reported_) {
    cpu_->Increment(cpu - cpu_reported_);
    cpu_reported_ = cpu;
  }
  std::error_code ec;
  std::size_t fds = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec)) {
    ++fds;
  }
  fds_->Set(static_cast<double>(fds));
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0) max_fds_->Set(static_cast<double>(lim.rlim_cur));
}

}  // namespace troupe
