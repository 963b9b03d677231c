package emulator

import "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/regions"

// knownRegion reports whether X-TC-Region names a Tencent Cloud region.
//
// The list is the Go SDK's regions package (which includes the finance
// regions ap-shanghai-fsi and ap-shenzhen-fsi) plus regions it lacks but the
// public region list has. DBbrain itself is served from fewer places ("select
// Guangzhou"), but the service answers UnsupportedRegion only for names that
// are not regions at all as far as we know, so any real region is accepted.
func knownRegion(r string) bool {
	switch r {
	case regions.Bangkok, regions.Beijing, regions.Chengdu, regions.Chongqing,
		regions.Guangzhou, regions.GuangzhouOpen, regions.HongKong, regions.Jakarta,
		regions.Mumbai, regions.Seoul, regions.Shanghai, regions.Nanjing,
		regions.ShanghaiFSI, regions.ShenzhenFSI, regions.Singapore, regions.Tokyo,
		regions.Frankfurt, regions.Moscow, regions.Ashburn, regions.SiliconValley,
		regions.Toronto, regions.SaoPaulo,
		// Not in the SDK's list.
		"ap-beijing-fsi", "ap-taipei", "ap-shanghai-adc":
		return true
	}
	return false
}
