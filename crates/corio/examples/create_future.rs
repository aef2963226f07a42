//! asyncio's `loop.create_future()`: a `Promise` completed by one task and
//! awaited by two others.

use std::time::Duration;

use corio::Promise;

fn main() {
    let (first, second) = corio::run(async {
        let promise: Promise<String> = Promise::new();

        let waiter = |name: &'static str, promise: Promise<String>| async move {
            let value = promise.await.expect("the promise is given a result");
            println!("{name} got {value:?}");
            value
        };
        let first = corio::spawn(waiter("first", promise.clone()));
        let second = corio::spawn(waiter("second", promise.clone()));

        let producer = corio::spawn(async move {
            corio::sleep(Duration::from_millis(10)).await;
            promise
                .set_result("hello from the producer".to_string())
                .expect("nobody else completes the promise");
            println!("producer set the result");
        });

        producer.await.unwrap();
        (first.await.unwrap(), second.await.unwrap())
    });
    assert_eq!(first, second);
}
