// The umbrella header: everything a troupe user needs.
#pragma once

#include <troupe/actor.hpp>
#include <troupe/actor_base.hpp>
#include <troupe/actor_system.hpp>
#include <troupe/actor_system_config.hpp>
#include <troupe/behavior.hpp>
#include <troupe/blocking.hpp>
#include <troupe/delayed_send.hpp>
#include <troupe/exit_reason.hpp>
#include <troupe/error.hpp>
#include <troupe/future.hpp>
#include <troupe/request.hpp>
#include <troupe/response_promise.hpp>
#include <troupe/result.hpp>
#include <troupe/task.hpp>
#include <troupe/task_group.hpp>
#include <troupe/time.hpp>
#include <troupe/typed_actor.hpp>
#include <troupe/when.hpp>
