package llmcore

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestTensors(t *testing.T) {
	header := `{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]}}`
	file := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	file = append(file, header...)
	file = binary.LittleEndian.AppendUint32(file, math.Float32bits(1.5))
	file = binary.LittleEndian.AppendUint32(file, math.Float32bits(-4))
	path := filepath.Join(t.TempDir(), "w.safetensors")
	if err := os.WriteFile(path, file, 0o644); err != nil {
		t.Fatal(err)
	}
	var e *Error
	if _, err := OpenTensors(path + ".missing"); !errors.As(err, &e) || e.Status != StatusIO {
		t.Fatalf("want an IO error, got %v", err)
	}
	ts, err := OpenTensors(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	names, err := ts.Names()
	if err != nil || !reflect.DeepEqual(names, []string{"w"}) {
		t.Fatalf("%v %v", names, err)
	}
	if f, err := ts.Metadata("format"); err != nil || f != "pt" {
		t.Fatalf("%q %v", f, err)
	}
	info, err := ts.Info("w")
	if err != nil || info.Dtype != "F32" || !reflect.DeepEqual(info.Shape, []uint64{1, 2}) || info.NBytes != 8 {
		t.Fatalf("%+v %v", info, err)
	}
	data, err := ts.Read("w")
	if err != nil || !reflect.DeepEqual(data, file[8+len(header):]) {
		t.Fatalf("%v %v", data, err)
	}
	if _, err := ts.Info("v"); !errors.As(err, &e) || e.Status != StatusMissingTensor {
		t.Fatalf("want a missing tensor, got %v", err)
	}
}
