package emulator

import "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/regions"

// knownRegion reports whether r names a Tencent Cloud region: the Go SDK's
// list (finance regions included) plus public regions it lacks. DBbrain
// serves fewer ("select Guangzhou"), but the service answers
// UnsupportedRegion only for names that are no region at all.
func knownRegion(r string) bool {
	switch r {
	case regions.Bangkok, regions.Beijing, regions.Chengdu, regions.Chongqing, regions.Guangzhou, regions.GuangzhouOpen,
		regions.HongKong, regions.Jakarta, regions.Mumbai, regions.Seoul, regions.Shanghai, regions.Nanjing,
		regions.ShanghaiFSI, regions.ShenzhenFSI, regions.Singapore, regions.Tokyo, regions.Frankfurt, regions.Moscow,
		regions.Ashburn, regions.SiliconValley, regions.Toronto, regions.SaoPaulo, "ap-beijing-fsi", "ap-taipei", "ap-shanghai-adc":
		return true
	}
	return false
}
