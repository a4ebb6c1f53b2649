#include <troupe/actor_system.hpp>

#include "actor_registry.hpp"
#include "blocking_pool.hpp"
#include "dead_letters.hpp"
#include "inspector_model.hpp"
#include "inspector_server.hpp"
#include "runtime_thread.hpp"
#include "timer_queue.hpp"
#include "trace_recorder.hpp"
#include "work_stealing_scheduler.hpp"

#include <spdlog/logger.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <chrono>
#include <cstdlib>
#include <random>
#include <thread>

namespace troupe {

static_assert(static_cast<int>(log_level::trace) == spdlog::level::trace &&
              static_cast<int>(log_level::warn) == spdlog::level::warn &&
              static_cast<int>(log_level::off) == spdlog::level::off);

namespace {

node_id make_node_id() {
  static std::atomic<std::uint64_t> counter{0};
  std::random_device rd;
  std::uint64_t v = (std::uint64_t{rd()} << 32) ^ rd();
  v ^= static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  v ^= counter.fetch_add(0x9e3779b97f4a7c15ULL, std::memory_order_relaxed);
  return node_id{v == 0 ? 1 : v};
}

}  // namespace

actor_system::actor_system(actor_system_config cfg)
    : cfg_(std::move(cfg)),
      node_(cfg_.node.value ? cfg_.node : make_node_id()),
      logger_(cfg_.logger ? cfg_.logger
                          : std::make_shared<spdlog::logger>(
                                "troupe", std::make_shared<spdlog::sinks::stderr_color_sink_mt>())),
      registry_(std::make_unique<detail::actor_registry>()),
      dead_letter_log_(std::make_unique<detail::dead_letter_log>()) {
  logger_->set_level(static_cast<spdlog::level::level_enum>(cfg_.log_level));
#if TROUPE_TRACE_HOOKS
  // Before anything runs, so that every actor's spawn is in the file. A path given in the
  // config that cannot be opened is the caller's error (it throws); one from the environment
  // is logged and the system runs untraced.
  // The inspector feeds on the same records (with no file unless tracing asks for one). An
  // address given in the config that cannot be served is the caller's error (it throws); one
  // from the environment is logged and the system runs uninspected.
  std::string inspect = cfg_.inspect.listen;
  if (inspect.empty())
    if (const char* env = std::getenv("TROUPE_INSPECT")) inspect = env;
  if (!inspect.empty()) {
    inspector_model_ = std::make_unique<detail::inspector_model>(cfg_.inspect);
    try {
      inspector_ = std::make_unique<detail::inspector_server>(
          cfg_.inspect, inspect, *inspector_model_, node_, *logger_, [this](std::string& out) {
            std::lock_guard lock(metrics_m_);
            for (auto& [key, append] : metrics_) append(out);
          });
    } catch (const std::exception& e) {
      if (!cfg_.inspect.listen.empty()) throw;
      logger_->error("TROUPE_INSPECT: {}; running without the inspector", e.what());
      inspector_model_.reset();
    }
  }
  if (std::string path = detail::trace_recorder::resolve_path(cfg_.trace, node_); !path.empty() || inspector_model_) {
    try {
      tracer_owner_ =
          std::make_unique<detail::trace_recorder>(cfg_.trace, path, node_, *logger_, inspector_model_.get());
      tracer_.store(tracer_owner_.get(), std::memory_order_release);
    } catch (const std::system_error& e) {
      if (!cfg_.trace.path.empty()) throw;
      logger_->error("TROUPE_TRACE: {}; running without tracing", e.what());
      if (inspector_model_) {  // (the inspector still gets its records: no file)
        tracer_owner_ = std::make_unique<detail::trace_recorder>(cfg_.trace, std::string(), node_, *logger_,
                                                                 inspector_model_.get());
        tracer_.store(tracer_owner_.get(), std::memory_order_release);
      }
    }
  }
#else
  if (!detail::trace_recorder::resolve_path(cfg_.trace, node_).empty())
    logger_->warn("tracing requested, but troupe was built with TROUPE_TRACE_HOOKS=OFF");
  if (!cfg_.inspect.listen.empty() || std::getenv("TROUPE_INSPECT"))
    logger_->warn("the inspector was requested, but troupe was built with TROUPE_TRACE_HOOKS=OFF");
#endif
  if (cfg_.timer_factory)
    timers_ = cfg_.timer_factory(*this);
  else
    timers_ = std::make_unique<detail::thread_timer_service>(*this);
  if (cfg_.worker_count == 0) cfg_.worker_count = std::max(1u, std::thread::hardware_concurrency());
  if (cfg_.scheduler_factory)
    sched_ = cfg_.scheduler_factory(*this);
  else
    sched_ = std::make_unique<detail::work_stealing_scheduler>(cfg_.worker_count,
                                                               cfg_.messages_per_activation);
  blocking_ = std::make_unique<detail::blocking_pool>(cfg_.blocking_threads);
  timers_->start();
  sched_->start();
}

actor_system::~actor_system() { shutdown(); }

// Shutdown protocol:
//   1. every actor gets a shutdown signal (urgent: not stuck behind its mailbox) and quits;
//      requests still queued fail with receiver_down; on_exit hooks run; wait for all;
//   2. blocking jobs not started fail with cancelled; running ones are joined;
//   3. pending timeouts and delays complete with errc::cancelled;
//   4. workers drain what is left (dead actors only) and exit.
void actor_system::shutdown() noexcept {
  std::lock_guard lock(shutdown_m_);
  if (shut_down_) return;
  shut_down_ = true;
  registry_->shutdown_all(*sched_);
  blocking_->stop();
  timers_->stop();
  sched_->stop();
  if (detail::trace_recorder* t = tracer_.exchange(nullptr, std::memory_order_acq_rel)) t->stop();
}

trace_stats actor_system::tracing_stats() const {
  return tracer_owner_ && !tracer_owner_->path().empty() ? tracer_owner_->stats() : trace_stats{};
}

void detail::system_access::add_metrics(actor_system& sys, const void* key, std::function<void(std::string&)> append) {
  std::lock_guard lock(sys.metrics_m_);
  sys.metrics_.emplace_back(key, std::move(append));
}

void detail::system_access::remove_metrics(actor_system& sys, const void* key) noexcept {
  std::lock_guard lock(sys.metrics_m_);
  std::erase_if(sys.metrics_, [key](const auto& m) { return m.first == key; });
}

std::string actor_system::inspector_url() const {
  return inspector_ ? inspector_->address() + "?token=" + inspector_->token() : std::string();
}

detail::trace_recorder* detail::system_access::tracer(actor_system& sys) noexcept {
  return sys.tracer_.load(std::memory_order_relaxed);
}

void actor_system::await_all_actors_done() noexcept { registry_->await_empty(*sched_); }

scheduler& detail::system_access::sched(actor_system& sys) noexcept { return *sys.sched_; }
detail::actor_registry& detail::system_access::registry(actor_system& sys) noexcept { return *sys.registry_; }
detail::blocking_pool& detail::system_access::blocking_jobs(actor_system& sys) noexcept { return *sys.blocking_; }
void detail::system_access::mark_runtime_thread() noexcept {
  static thread_local runtime_thread_scope scope;  // until the thread ends
}

void detail::system_access::count_dead_letter(actor_system& sys) noexcept {
  sys.dead_letters_.fetch_add(1, std::memory_order_relaxed);
}
void detail::system_access::count_cancelled_drop(actor_system& sys) noexcept {
  sys.cancelled_dropped_.fetch_add(1, std::memory_order_relaxed);
}

detail::dead_letter_log& detail::system_access::dead_letters(actor_system& sys) noexcept {
  return *sys.dead_letter_log_;
}
void detail::report_dead_letter(actor_system& sys, const abstract_actor* receiver, const envelope& e,
                                std::string_view why) noexcept {
#if TROUPE_TRACE_HOOKS
  if (tracing())
    if (trace_recorder* t = system_access::tracer(sys)) {
      using r = trace_format::dead_letter_reason;
      const r reason = why == "it is not alive"       ? r::not_alive
                       : why == "no handler takes it"  ? r::no_handler
                       : why == "its mailbox is full"  ? r::mailbox_full
                       : why == "the handle is empty"  ? r::no_actor
                                                       : r::other;
      t->record_dead_letter(receiver, e, reason);
    }
#endif
  system_access::dead_letters(sys).report(sys, receiver, e, why);
}

duration detail::default_request_timeout(const actor_system& sys) noexcept { return sys.config().request_timeout; }

void actor_system::log(log_level level, std::string_view text) const noexcept {
  try {
    logger_->log(static_cast<spdlog::level::level_enum>(level), text);
  } catch (...) {  // a failing sink loses the message, never the caller
  }
}

bool actor_system::should_log(log_level level) const noexcept {
  return logger_->should_log(static_cast<spdlog::level::level_enum>(level));
}

std::size_t actor_system::running_actors() const noexcept { return registry_->size(); }

actor actor_system::launch(actor_base* a) {
  actor h = detail::system_access::adopt(a);  // the strong reference the actor was born with
  if (!registry_->add(*a)) {
    // The system is shutting down or shut down: its workers may be gone, so an actor started
    // now might never run. It is not started; its handle is a dead actor's.
    detail::system_access::refuse_start(*a);
    logger_->warn("spawn on an actor_system that is shutting down or shut down: actor#{} is not started", a->id());
    return h;
  }
#if TROUPE_TRACE_HOOKS
  if (detail::tracing())
    if (detail::trace_recorder* t = detail::system_access::tracer(*this)) t->record_spawn(*a);
#endif
  detail::system_access::initialize(*a);
  return h;
}

}  // namespace troupe
