"""Labels are real PNGs holding the serial, and the CLI writes them."""

from __future__ import annotations

from PIL import Image

from provisioning.cli import main


def test_label_command_writes_a_png_that_opens(tmp_path, capsys):
    out = tmp_path / "labels" / "RT-00000007.png"
    assert main(["label", "--serial", "RT-00000007", "--out", str(out), "--model", "nrf52840"]) == 0
    assert out.stat().st_size > 0
    with Image.open(out) as img:
        assert img.format == "PNG"
        w, h = img.size
        assert w >= 300 and h > w  # QR square plus text under it
        assert img.convert("L").getextrema() == (0, 255)  # black modules on white
    assert "RT-00000007" in capsys.readouterr().out


def test_label_refuses_a_bad_serial(tmp_path, capsys):
    out = tmp_path / "x.png"
    assert main(["label", "--serial", "../etc/passwd", "--out", str(out)]) == 2
    assert not out.exists()
    assert "not valid" in capsys.readouterr().err


def test_label_qr_modules_encode_the_serial():
    """Sample the label at each QR module's centre: it must be the serial's QR matrix."""
    import qrcode

    from provisioning.labels import LABEL_WIDTH, render_label

    serial = "RT-00000123"
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2)
    qr.add_data(serial)
    qr.make(fit=True)
    matrix = qr.get_matrix()
    img = render_label(serial).convert("L")
    side = LABEL_WIDTH - 40
    module = side / len(matrix)
    sampled = [[img.getpixel((20 + int((x + 0.5) * module), 10 + int((y + 0.5) * module))) < 128
                for x in range(len(matrix))] for y in range(len(matrix))]
    assert sampled == matrix
    other = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2)
    other.add_data("RT-00000124")
    other.make(fit=True)
    assert sampled != other.get_matrix()
