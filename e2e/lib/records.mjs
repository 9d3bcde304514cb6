// The enclave's IndexedDB records, read and altered from inside the enclave's own origin
// (as another script there could). Page functions, each taking one array argument, for
// Playwright's `frame.evaluate(fn, arg)` and the engine suite's `inEnclave(browser, fn, arg)`.

/** Every record of the enclave's database: {key: number[]}. */
export function readRecords() {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open("kms-enclave");
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const tx = open.result.transaction("records");
      const store = tx.objectStore("records");
      const keys = store.getAllKeys();
      const values = store.getAll();
      tx.oncomplete = () => {
        const out = {};
        keys.result.forEach((k, i) => { out[k] = Array.from(new Uint8Array(values.result[i])); });
        open.result.close();
        resolve(out);
      };
    };
  });
}

/** Flips one byte (`[key, index]`) of a stored record. */
export function flipRecordByte([key, index]) {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open("kms-enclave");
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const tx = open.result.transaction("records", "readwrite");
      const store = tx.objectStore("records");
      const get = store.get(key);
      get.onsuccess = () => {
        const bytes = new Uint8Array(get.result);
        bytes[index % bytes.length] ^= 0x01;
        store.put(bytes, key);
      };
      tx.oncomplete = () => { open.result.close(); resolve(); };
      tx.onerror = () => reject(tx.error);
    };
  });
}
