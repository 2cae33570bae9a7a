"""Test helper: AES-256-GCM sealing of a tuples bundle from the core's own primitives.

The token only ever decrypts; tests need bundles of any size inside the VM,
where no other AES-GCM exists. CTR is its own inverse, and the tag is the
GHASH of the ciphertext, so two decryptor passes make a sealed blob.
"""

from binascii import b2a_base64

from robert_token.aes import AES
from robert_token.gcm import GcmDecryptor


def b64(b):
    return b2a_base64(b).decode().strip()


def bundle_json(tuples):
    parts = []
    for epoch_id, ebid, ecc in tuples:
        parts.append('{"epochId":%d,"key":{"ebid":"%s","ecc":"%s"}}' % (epoch_id, b64(ebid), b64(bytes((ecc,)))))
    return ("[" + ",".join(parts) + "]").encode()


def seal(key, iv, plaintext):
    enc = GcmDecryptor(AES(key), iv)
    ct = enc.update(plaintext) + enc.finish()
    mac = GcmDecryptor(AES(key), iv)
    mac.update(ct)
    return bytes(iv) + ct + mac.tag()


def make_tuples(first_epoch, count, seed=7):
    out = []
    r = seed
    for i in range(count):
        eb = bytearray()
        for _ in range(8):
            r = (r * 1103515245 + 12345) & 0x7FFFFFFF
            eb.append((r >> 16) & 0xFF)
        out.append((first_epoch + i, bytes(eb), (r >> 8) & 0xFF))
    return out
