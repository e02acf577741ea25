import pytest

from tests.pipeline_dataset import PipelineDataset, pipeline_dataset


@pytest.fixture(scope="session")
def dataset(services, samples, tmp_path_factory) -> PipelineDataset:  # noqa: ANN001
    return pipeline_dataset(samples, tmp_path_factory)
