//! Public behaviour of sleep, timeout, interval and the driver.

mod util;

use corio_test_support::{counting_waker, noop_waker, DropCounter};
use corio_timer::{
    interval, interval_at, sleep, sleep_until, timeout, timeout_at, Instant, Interval, Sleep,
    TimeoutError, TimerHandle, Timers,
};
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use util::{block_on, log_waker, real_timers, virtual_timers};

const MS: Duration = Duration::from_millis(1);

#[test]
fn sleep_is_never_early_on_the_real_clock() {
    let timers = real_timers();
    for millis in [1u64, 2, 3, 5, 8] {
        let duration = Duration::from_micros(millis * 1000 - 300);
        let run = block_on(&timers, async {
            let std_start = std::time::Instant::now();
            let sleep = sleep(duration);
            let deadline = sleep.deadline();
            sleep.await;
            (deadline, std_start.elapsed())
        });
        let (deadline, std_elapsed) = run.output;
        assert!(timers.now() >= deadline);
        assert!(std_elapsed >= duration, "{std_elapsed:?} < {duration:?}");
    }
    assert!(timers.is_empty());
}

#[test]
fn a_one_hour_sleep_on_virtual_time_finishes_at_once() {
    let timers = virtual_timers();
    let start = timers.now();
    // Created inside the loop, so that `sleep` reads the virtual clock.
    let run = block_on(&timers, async { sleep(Duration::from_secs(3600)).await });
    assert_eq!(timers.now() - start, Duration::from_secs(3600));
    assert_eq!(run.polls, 2, "registered, then woken once it fired");
    assert!(timers.is_empty());
}

#[test]
fn sleep_zero_yields_exactly_once_without_touching_the_wheel() {
    let timers = virtual_timers();
    let _guard = timers.enter();
    let (waker, wakes) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let mut zero = pin!(sleep(Duration::ZERO));
    assert!(zero.as_mut().poll(&mut cx).is_pending());
    assert_eq!(wakes.count(), 1, "the task is woken to run again");
    assert!(timers.is_empty());
    assert!(zero.as_mut().poll(&mut cx).is_ready());
    assert!(zero.as_mut().poll(&mut cx).is_ready());
    assert_eq!(wakes.count(), 1);
}

#[test]
fn a_deadline_now_or_in_the_past_is_ready_at_once() {
    let timers = virtual_timers();
    let _guard = timers.enter();
    let (waker, wakes) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    for deadline in [timers.now(), timers.now() - Duration::from_secs(1)] {
        let mut past = pin!(sleep_until(deadline));
        assert!(past.as_mut().poll(&mut cx).is_ready());
    }
    assert_eq!(wakes.count(), 0);
    assert!(timers.is_empty());
}

#[test]
fn dropping_a_sleep_frees_its_entry() {
    let timers = virtual_timers();
    let _guard = timers.enter();
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut sleeps: Vec<Pin<Box<Sleep>>> = (1..=100u64)
        .map(|secs| Box::pin(sleep(Duration::from_secs(secs))))
        .collect();
    for sleep in &mut sleeps {
        assert!(sleep.as_mut().poll(&mut cx).is_pending());
    }
    assert_eq!(timers.len(), 100);
    sleeps.truncate(40);
    assert_eq!(timers.len(), 40);
    drop(sleeps);
    assert_eq!(timers.len(), 0);
    assert_eq!(timers.next_deadline(), None);
}

#[test]
fn timeout_returns_the_inner_value_when_it_is_ready_first() {
    let timers = virtual_timers();
    let run = block_on(&timers, async {
        let value = timeout(Duration::from_secs(10), async {
            sleep(Duration::from_secs(3)).await;
            42
        })
        .await;
        (value, Instant::now())
    });
    let start = run.output.1 - Duration::from_secs(3);
    assert_eq!(run.output.0, Ok(42));
    assert_eq!(
        timers.now() - start,
        Duration::from_secs(3),
        "the timeout did not wait"
    );
    assert!(
        timers.is_empty(),
        "the timeout's timer is cancelled on success"
    );
    // Ready at once wins even against a zero duration.
    let run = block_on(&timers, timeout(Duration::ZERO, async { 1 }));
    assert_eq!(run.output, Ok(1));
}

#[test]
fn timeout_drops_the_inner_future_on_expiry() {
    let timers = virtual_timers();
    let dropped = DropCounter::new();
    let flag = dropped.token();
    let start = timers.now();
    let run = block_on(&timers, async {
        let inner = async move {
            let _flag = flag;
            sleep(Duration::from_secs(60)).await;
        };
        let result = timeout(Duration::from_secs(2), inner).await;
        (result, dropped.count())
    });
    assert_eq!(
        run.output,
        (Err(TimeoutError), 1),
        "dropped before the caller resumed"
    );
    assert_eq!(timers.now() - start, Duration::from_secs(2));
    assert!(timers.is_empty(), "the inner sleep was cancelled with it");
}

#[test]
fn timeout_at_a_past_deadline_expires_after_one_poll_of_the_inner_future() {
    let timers = virtual_timers();
    let polls = Arc::new(AtomicUsize::new(0));
    let counted = polls.clone();
    let inner = std::future::poll_fn(move |_| {
        counted.fetch_add(1, Ordering::SeqCst);
        Poll::<()>::Pending
    });
    let run = block_on(&timers, timeout_at(timers.now() - MS, inner));
    assert_eq!(run.output, Err(TimeoutError));
    assert_eq!(polls.load(Ordering::SeqCst), 1);
    assert_eq!(TimeoutError.to_string(), "deadline has elapsed");
}

#[test]
fn timeout_fires_even_when_the_inner_future_always_spends_the_budget() {
    let timers = virtual_timers();
    let _guard = timers.enter();
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    // An inner future that burns the whole coop budget on every poll.
    let greedy = std::future::poll_fn(|cx| {
        while let Poll::Ready(permit) = corio_core::coop::poll_proceed(cx) {
            permit.made_progress();
        }
        Poll::<()>::Pending
    });
    let mut limited = pin!(timeout(Duration::from_secs(1), greedy));
    let first = corio_core::coop::with_budget(|| limited.as_mut().poll(&mut cx));
    assert!(first.is_pending());
    timers.clock().advance(Duration::from_secs(1));
    assert_eq!(timers.fire_due(), 1);
    let second = corio_core::coop::with_budget(|| limited.as_mut().poll(&mut cx));
    assert_eq!(second, Poll::Ready(Err(TimeoutError)));
}

#[test]
fn a_sleep_is_a_coop_leaf() {
    let timers = virtual_timers();
    let _guard = timers.enter();
    let (waker, wakes) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let mut past = pin!(sleep_until(timers.now() - MS));
    corio_core::coop::with_budget(|| {
        while let Poll::Ready(permit) = corio_core::coop::poll_proceed(&mut cx) {
            permit.made_progress();
        }
        let before = wakes.count();
        assert!(past.as_mut().poll(&mut cx).is_pending(), "no budget left");
        assert_eq!(wakes.count(), before + 1);
    });
    assert!(past.as_mut().poll(&mut cx).is_ready());
}

#[test]
fn interval_ticks_immediately_then_every_period_and_skips_missed_ticks() {
    let timers = virtual_timers();
    let start = timers.now();
    let period = Duration::from_millis(250);
    let run = block_on(&timers, async {
        let mut interval = interval(period);
        assert_eq!(interval.period(), period);
        let mut seen = Vec::new();
        for _ in 0..3 {
            seen.push(interval.tick().await);
        }
        seen
    });
    assert_eq!(run.output, vec![start, start + period, start + 2 * period]);

    let _guard = timers.enter();
    let origin = timers.now();
    let mut interval = interval_at(origin, period);
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    assert_eq!(interval.poll_tick(&mut cx), Poll::Ready(origin));
    timers.clock().advance(period * 7 / 2);
    timers.fire_due();
    assert_eq!(
        interval.poll_tick(&mut cx),
        Poll::Ready(origin + period),
        "one late tick"
    );
    // The ticks at 2 and 3 periods were missed: the next is at 4 periods.
    assert!(interval.poll_tick(&mut cx).is_pending());
    assert!(timers.advance_virtual());
    assert_eq!(timers.now(), origin + 4 * period);
    assert_eq!(
        interval.poll_tick(&mut cx),
        Poll::Ready(origin + 4 * period)
    );
}

#[test]
fn an_interval_made_outside_the_loop_starts_on_the_loop_clock() {
    let timers = virtual_timers();
    let mut interval = interval(Duration::from_secs(1));
    let start = timers.now();
    let run = block_on(&timers, async move {
        [interval.tick().await, interval.tick().await]
    });
    assert_eq!(run.output, [start, start + Duration::from_secs(1)]);
}

#[test]
#[should_panic(expected = "period must be non-zero")]
fn an_interval_with_a_zero_period_panics() {
    let _ = interval(Duration::ZERO);
}

#[test]
fn timers_firing_together_wake_in_deadline_then_registration_order() {
    let timers = virtual_timers();
    let _guard = timers.enter();
    let log = Arc::new(Mutex::new(Vec::new()));
    let base = timers.now() + Duration::from_millis(10);
    // Deadlines within one tick, and equal deadlines registered in order.
    let offsets_micros = [900u64, 100, 500, 500, 100, 0];
    let mut sleeps: Vec<_> = offsets_micros
        .iter()
        .map(|&micros| Box::pin(sleep_until(base + Duration::from_micros(micros))))
        .collect();
    for (id, sleep) in sleeps.iter_mut().enumerate() {
        let waker = log_waker(id, &log);
        assert!(sleep
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending());
    }
    timers.clock().advance(Duration::from_millis(12));
    assert_eq!(timers.fire_due(), 6);
    assert_eq!(*log.lock().unwrap(), [5, 1, 4, 2, 3, 0]);
}

#[test]
fn the_latest_waker_is_the_one_woken() {
    let timers = virtual_timers();
    let _guard = timers.enter();
    let (first_waker, first) = counting_waker();
    let (second_waker, second) = counting_waker();
    let mut sleep = pin!(sleep(MS));
    assert!(sleep
        .as_mut()
        .poll(&mut Context::from_waker(&first_waker))
        .is_pending());
    assert!(sleep
        .as_mut()
        .poll(&mut Context::from_waker(&second_waker))
        .is_pending());
    timers.clock().advance(MS);
    assert_eq!(timers.fire_due(), 1);
    assert_eq!((first.count(), second.count()), (0, 1));
}

#[test]
fn reset_moves_a_registered_timer_and_revives_a_finished_one() {
    let timers = virtual_timers();
    let start = timers.now();
    let run = block_on(&timers, async {
        let mut sleep = pin!(sleep(Duration::from_secs(100)));
        // Register it, then move it closer.
        assert!(
            std::future::poll_fn(|cx| Poll::Ready(sleep.as_mut().poll(cx)))
                .await
                .is_pending()
        );
        sleep
            .as_mut()
            .reset(Instant::now() + Duration::from_secs(1));
        sleep.as_mut().await;
        let first = Instant::now();
        sleep.as_mut().reset(first + Duration::from_secs(2));
        sleep.as_mut().await;
        (first, Instant::now())
    });
    assert_eq!(
        run.output,
        (
            start + Duration::from_secs(1),
            start + Duration::from_secs(3)
        )
    );
    assert!(timers.is_empty());
}

#[test]
fn deadlines_at_level_boundaries_and_far_futures_fire_in_order_and_on_their_tick() {
    let timers = virtual_timers();
    let _guard = timers.enter();
    let start = timers.now();
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut millis: Vec<u64> = Vec::new();
    for level in 1..8u32 {
        let boundary = 1u64 << (6 * level);
        millis.extend([boundary - 1, boundary, boundary + 1]);
    }
    millis.push(u64::MAX / 1_000_000 / 2);
    let mut sleeps: Vec<_> = millis
        .iter()
        .map(|&ms| {
            Box::pin(sleep_until(
                start + Duration::from_millis(ms) - Duration::from_nanos(1),
            ))
        })
        .collect();
    for (id, sleep) in sleeps.iter_mut().enumerate() {
        assert!(sleep
            .as_mut()
            .poll(&mut Context::from_waker(&log_waker(id, &log)))
            .is_pending());
    }
    for (id, &ms) in millis.iter().enumerate() {
        let next = timers.next_deadline().expect("timers are left");
        assert!(
            next <= start + Duration::from_millis(ms),
            "next deadline is never after the timer"
        );
        assert!(timers.advance_virtual());
        assert_eq!(*log.lock().unwrap(), (0..=id).collect::<Vec<_>>());
        // Fired on the tick holding the deadline: not early, < 1 tick late.
        assert_eq!(timers.now(), start + Duration::from_millis(ms));
    }
    assert!(!timers.advance_virtual());
    drop(sleeps);
}

#[test]
fn duration_max_never_panics_or_overflows() {
    let timers = virtual_timers();
    let run = block_on(&timers, async {
        let mut forever = pin!(sleep(Duration::MAX));
        let pending = std::future::poll_fn(|cx| Poll::Ready(forever.as_mut().poll(cx))).await;
        let registered = corio_timer::Instant::now() < forever.deadline() && pending.is_pending();
        let value = timeout(Duration::MAX, async { 5 }).await;
        (registered, value)
    });
    assert_eq!(run.output, (true, Ok(5)));
    assert!(timers.is_empty());
    let _guard = timers.enter();
    let mut forever = pin!(sleep(Duration::MAX));
    let waker = noop_waker();
    assert!(forever
        .as_mut()
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    assert!(timers.park_timeout().is_some());
    // The virtual clock can even reach the end of time.
    assert!(timers.advance_virtual());
    assert!(forever
        .as_mut()
        .poll(&mut Context::from_waker(&waker))
        .is_ready());
}

#[test]
fn advance_virtual_refuses_a_real_clock_and_an_empty_wheel() {
    assert!(!real_timers().advance_virtual());
    assert!(!virtual_timers().advance_virtual());
}

#[test]
fn park_timeout_reaches_the_tick_of_the_next_timer() {
    let timers = virtual_timers();
    let _guard = timers.enter();
    let mut sleep = pin!(sleep(Duration::from_micros(2500)));
    let waker = noop_waker();
    assert!(sleep
        .as_mut()
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    assert_eq!(timers.park_timeout(), Some(Duration::from_millis(3)));
    timers.clock().advance(Duration::from_micros(2600));
    assert_eq!(timers.park_timeout(), Some(Duration::from_micros(400)));
    assert_eq!(timers.fire_due(), 0, "never early");
    timers.clock().advance(Duration::from_micros(400));
    assert_eq!(timers.park_timeout(), Some(Duration::ZERO));
    assert_eq!(timers.fire_due(), 1);
    assert_eq!(timers.park_timeout(), None);
}

#[test]
fn instant_now_follows_the_entered_clock_and_enter_nests() {
    let outer = virtual_timers();
    let inner = virtual_timers();
    outer.clock().advance(Duration::from_secs(10));
    let outer_guard = outer.enter();
    assert_eq!(Instant::now(), outer.now());
    {
        let _inner_guard = inner.enter();
        assert_eq!(Instant::now(), inner.now());
    }
    assert_eq!(Instant::now(), outer.now());
    drop(outer_guard);
    let std_now = Instant::from_std(std::time::Instant::now());
    assert!(Instant::now() >= std_now, "back on the system clock");
}

#[test]
fn a_handle_bound_sleep_runs_on_another_thread() {
    let timers = virtual_timers();
    let handle: TimerHandle = timers.handle();
    let sleeper = std::thread::spawn(move || {
        let mut sleep = pin!(handle.sleep_until(handle.now() + Duration::from_secs(5)));
        let (waker, wakes) = counting_waker();
        assert!(sleep
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending());
        while wakes.count() == 0 {
            std::thread::yield_now();
        }
        assert!(sleep
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_ready());
    });
    while timers.is_empty() {
        std::thread::yield_now();
    }
    assert!(timers.advance_virtual());
    sleeper.join().unwrap();
    assert!(timers.is_empty());
}

#[test]
#[should_panic(expected = "polled outside a corio event loop")]
fn polling_a_sleep_outside_a_loop_panics_with_a_clear_message() {
    let waker = noop_waker();
    let mut sleep = pin!(sleep(MS));
    let _ = sleep.as_mut().poll(&mut Context::from_waker(&waker));
}

#[test]
fn futures_and_handles_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Sleep>();
    send_sync::<corio_timer::Timeout<Sleep>>();
    send_sync::<Interval>();
    send_sync::<TimerHandle>();
    send_sync::<Timers>();
    send_sync::<corio_timer::Clock>();
    send_sync::<Instant>();
    send_sync::<TimeoutError>();
    send::<corio_timer::Timeout<std::future::Ready<u8>>>();
    fn unpin<T: Unpin>() {}
    unpin::<Sleep>();
    unpin::<Interval>();
}
