"""The probe consumer as its own process, for fault tests that kill it.

``python -m tests.fault.probe_consumer_process`` with DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS set. With
``CRASH_AFTER_COMMIT=1`` the process dies (os._exit, like kill -9) right after its first database transaction
commits and before the Kafka offsets are committed: the window the inbox exists for.
"""

from __future__ import annotations

import asyncio
import os
import signal

from faststream.kafka.message import KafkaAckableMessage

from shared.settings import ServiceSettings
from tests.integration.probe import consumer_runtime


async def main() -> None:
    if os.environ.get("CRASH_AFTER_COMMIT") == "1":
        async def crash(self) -> None:
            os._exit(137)

        KafkaAckableMessage.ack = crash  # type: ignore[method-assign]
    settings = ServiceSettings(service_name="incidents", environment="test", consumer_batch_max_records=10)
    runtime = consumer_runtime(settings)
    await runtime.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await runtime.wait_until_assigned(60)
    print("ASSIGNED", flush=True)
    await stop.wait()
    await runtime.stop()


if __name__ == "__main__":
    asyncio.run(main())
