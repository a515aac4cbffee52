"""A citizen sends a pin with a photo from the form in Chromium, and sees the photo on the
pin's page, served by the site (no other host), without its GPS tags."""

import re
from io import BytesIO

from django.test import Client
from PIL import Image
from playwright.sync_api import Page, expect

from mapideas.models import Idea
from tests.conftest import IN_EAST
from tests.mapideas.pins.photo_files import gps_jpeg


def test_a_pin_sent_with_a_photo_shows_it_on_its_page(
    page: Page, live_server, city, category, settings, tmp_path
):
    settings.MAPIDEAS_PHOTO_ROOT = tmp_path / "photos"
    page.goto("/")
    page.get_by_label("Issue", exact=True).check()
    page.get_by_label("Title").fill("Graffiti on the bridge")
    page.get_by_label("Category").select_option(label=category.name)
    page.get_by_label("Latitude").fill(str(IN_EAST.y))
    page.get_by_label("Longitude").fill(str(IN_EAST.x))
    page.get_by_label("Photo (optional)").set_input_files(
        {"name": "IMG_0042.jpg", "mimeType": "image/jpeg", "buffer": gps_jpeg((160, 120))}
    )
    page.get_by_role("button", name="Send").click()

    expect(page).to_have_url(re.compile(r"/ideas/\d+/$"))
    idea = Idea.objects.get()
    photo = page.get_by_role("img", name="Photo sent with “Graffiti on the bridge”")
    expect(photo).to_be_visible()
    expect(photo).to_have_attribute("src", f"/ideas/{idea.pk}/photo.jpg")
    # Decoded by the browser: a real image of the stored size (waited for: the image is lazy,
    # and visible before it has loaded).
    photo.element_handle().wait_for_element_state("stable")
    page.wait_for_function("el => el.complete && el.naturalWidth > 0", arg=photo.element_handle())
    assert page.evaluate("el => el.naturalWidth", photo.element_handle()) == 160

    served = Client().get(f"/ideas/{idea.pk}/photo.jpg")
    with Image.open(BytesIO(b"".join(served.streaming_content))) as image:
        assert len(image.getexif()) == 0
