"""Settings refuse a missing or placeholder signing secret outside development."""

import pytest
from pydantic import ValidationError

from segmentation.settings import Settings


@pytest.mark.parametrize("environment", ["test", "production"])
@pytest.mark.parametrize("secret", [None, "", "changethis", "  Secret  "])
def test_outside_development_a_real_secret_is_required(
    environment: str, secret: str | None
) -> None:
    with pytest.raises(ValidationError, match="SEGMENTATION_JWT_SECRET"):
        Settings(environment=environment, jwt_secret=secret)  # type: ignore[arg-type]


def test_development_may_generate_its_own_and_others_accept_a_real_one() -> None:
    assert Settings(environment="development", jwt_secret=None).jwt_secret is None
    real = "k" * 48
    assert Settings(environment="production", jwt_secret=real).jwt_secret == real
