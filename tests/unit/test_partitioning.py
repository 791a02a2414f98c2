"""Keys land on the partition Kafka's default partitioner gives them, whichever hash computes it."""

from aiokafka.partitioner import DefaultPartitioner, murmur2
from hypothesis import given
from hypothesis import strategies as st

from storepulse.kafka_topics import default_partitioner, item_key, partition_of


@given(st.binary(max_size=200), st.integers(min_value=1, max_value=64))
def test_partition_of_is_the_java_clients_murmur2_placement(key: bytes, partitions: int) -> None:
    assert partition_of(key, partitions) == (murmur2(key) & 0x7FFFFFFF) % partitions


@given(st.text(max_size=40), st.integers(min_value=0, max_value=10**15), st.integers(1, 32))
def test_the_workers_producer_places_a_key_as_aiokafkas_default_does(shop: str, item: int, n: int) -> None:
    key, partitions = item_key(shop, item), list(range(n))
    aiokafkas = DefaultPartitioner()(key, partitions, partitions)
    assert default_partitioner(key, partitions, partitions) == aiokafkas


def test_a_record_without_a_key_goes_to_an_available_partition() -> None:
    assert {default_partitioner(None, [0, 1, 2, 3], [2, 3]) for _ in range(50)} <= {2, 3}
    assert default_partitioner(None, [0, 1], []) in {0, 1}
